//! Resource indicators on the server side
//! ([RFC 8707](https://www.rfc-editor.org/rfc/rfc8707)): which `resource` values an
//! authorization request may name, and the rule that every token request names
//! the same resource as the grant it uses (§2.2).

use serde::{Deserialize, Serialize};
use url::Url;

/// Which resources this server issues tokens for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourcePolicy {
    /// The resource URIs tokens may be issued for, compared as strings (an MCP
    /// server's canonical URI, e.g. `https://mcp.example.com/mcp`). Empty: any
    /// absolute URI without a fragment.
    #[serde(default)]
    pub allowed: Vec<String>,
    /// Refuse authorization requests that name no resource.
    #[serde(default)]
    pub required: bool,
}

/// Why a `resource` is refused (`invalid_target`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResourceError {
    /// Not an absolute URI, or it carries a fragment (RFC 8707 §2).
    #[error("resource must be an absolute URI without a fragment")]
    Malformed,
    /// Well formed, but this server issues no tokens for it.
    #[error("resource {requested} is not served here; use {allowed}")]
    NotServed {
        /// The resource requested.
        requested: String,
        /// The resources served, space-separated.
        allowed: String,
    },
    /// The request names no resource, and this server requires one.
    #[error("resource is required; use {allowed}")]
    Required {
        /// The resources served, space-separated.
        allowed: String,
    },
    /// A token request names another resource than its grant (RFC 8707 §2.2).
    #[error("resource {requested} differs from the authorization request's {granted}")]
    Differs {
        /// What the token request named, or `(absent)`.
        requested: String,
        /// What the grant is for, or `(absent)`.
        granted: String,
    },
}

impl ResourcePolicy {
    /// Checks the `resource` of an authorization request.
    pub fn check(&self, resource: Option<&str>) -> Result<(), ResourceError> {
        let allowed = || self.allowed.join(" ");
        match resource {
            None if self.required => Err(ResourceError::Required { allowed: allowed() }),
            None => Ok(()),
            Some(resource) if !is_absolute_without_fragment(resource) => {
                Err(ResourceError::Malformed)
            }
            Some(resource)
                if !self.allowed.is_empty() && !self.allowed.iter().any(|a| a == resource) =>
            {
                Err(ResourceError::NotServed {
                    requested: resource.to_owned(),
                    allowed: allowed(),
                })
            }
            Some(_) => Ok(()),
        }
    }

    /// Checks the policy itself: every allowed resource is an absolute URI
    /// without a fragment.
    pub fn validate(&self) -> Result<(), String> {
        match self
            .allowed
            .iter()
            .find(|r| !is_absolute_without_fragment(r))
        {
            Some(bad) => Err(format!(
                "resource {bad:?} must be an absolute URI without a fragment"
            )),
            None => Ok(()),
        }
    }
}

/// RFC 8707 §2.2: a token request names the grant's resource (or, when the grant
/// named none, none either).
pub fn check_same(granted: Option<&str>, requested: Option<&str>) -> Result<(), ResourceError> {
    if granted == requested {
        return Ok(());
    }
    Err(ResourceError::Differs {
        requested: requested.unwrap_or("(absent)").to_owned(),
        granted: granted.unwrap_or("(absent)").to_owned(),
    })
}

fn is_absolute_without_fragment(resource: &str) -> bool {
    Url::parse(resource).is_ok_and(|url| url.fragment().is_none() && !resource.contains('#'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MCP: &str = "https://mcp.example.com/mcp";

    #[test]
    fn resource_policy_table() {
        let open = ResourcePolicy::default();
        let served = ResourcePolicy {
            allowed: vec![MCP.into()],
            required: true,
        };
        // (policy, resource, accepted)
        let table = [
            (&open, None, true),
            (&open, Some(MCP), true),
            (&open, Some("http://127.0.0.1:9000/mcp"), true),
            (&open, Some("/mcp"), false),
            (&open, Some("mcp.example.com"), false),
            (&open, Some("https://mcp.example.com/mcp#x"), false),
            (&open, Some("https://mcp.example.com#"), false),
            (&served, Some(MCP), true),
            (&served, None, false),
            (&served, Some("https://mcp.example.com/mcp/"), false),
            (&served, Some("https://other.example/mcp"), false),
        ];
        for (policy, resource, accepted) in table {
            assert_eq!(policy.check(resource).is_ok(), accepted, "{resource:?}");
        }
        assert_eq!(
            served.check(Some("https://other.example/mcp")),
            Err(ResourceError::NotServed {
                requested: "https://other.example/mcp".into(),
                allowed: MCP.into()
            })
        );
    }

    #[test]
    fn token_requests_name_the_granted_resource() {
        assert_eq!(check_same(Some(MCP), Some(MCP)), Ok(()));
        assert_eq!(check_same(None, None), Ok(()));
        assert!(check_same(Some(MCP), None).is_err());
        assert!(check_same(None, Some(MCP)).is_err());
        assert!(check_same(Some(MCP), Some("https://mcp.example.com/")).is_err());
    }

    #[test]
    fn the_policy_validates_its_resources() {
        assert!(ResourcePolicy::default().validate().is_ok());
        let bad = ResourcePolicy {
            allowed: vec!["mcp".into()],
            required: false,
        };
        assert!(bad.validate().is_err());
    }
}
