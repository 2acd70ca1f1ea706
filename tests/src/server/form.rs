//! Reading `application/x-www-form-urlencoded` request bodies the way RFC 6749 §3.2
//! asks: the content type is checked, and a parameter may appear at most once.

use axum::http::{header, HeaderMap};
use std::collections::HashMap;

/// A decoded form whose parameters are known to be unique.
#[derive(Debug, Default)]
pub(crate) struct Form(HashMap<String, String>);

impl Form {
    /// Decodes `body`, refusing a wrong content type or a repeated parameter; the
    /// error is an `error_description`.
    pub fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Form, String> {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let essence = content_type.split(';').next().unwrap_or_default().trim();
        if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err("the body must be application/x-www-form-urlencoded".to_owned());
        }
        if std::str::from_utf8(body).is_err() {
            return Err("the body is not UTF-8".to_owned());
        }
        let mut params = HashMap::new();
        for (name, value) in url::form_urlencoded::parse(body) {
            if params
                .insert(name.to_string(), value.into_owned())
                .is_some()
            {
                return Err(format!("parameter {name} is repeated"));
            }
        }
        Ok(Form(params))
    }

    /// A parameter; an empty value counts as absent (RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(content_type: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(content_type).unwrap(),
        );
        headers
    }

    #[test]
    fn form_decodes_and_treats_empty_values_as_absent() {
        let form = Form::parse(
            &headers("application/x-www-form-urlencoded; charset=UTF-8"),
            b"a=x+y%26&b=",
        )
        .unwrap();
        assert_eq!(form.get("a"), Some("x y&"));
        assert_eq!(form.get("b"), None);
        assert_eq!(form.get("c"), None);
    }

    #[test]
    fn form_refuses_repeats_and_other_content_types() {
        let form = headers("application/x-www-form-urlencoded");
        assert!(Form::parse(&form, b"a=1&a=2").is_err());
        assert!(Form::parse(&headers("application/json"), b"a=1").is_err());
        assert!(Form::parse(&HeaderMap::new(), b"a=1").is_err());
    }
}
