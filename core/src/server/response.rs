//! The authorization response: the redirect back to the client with `code` (or
//! `error` and `error_description`), the client's `state`
//! ([RFC 6749 §4.1.2](https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2)), and
//! `iss` ([RFC 9207 §2](https://www.rfc-editor.org/rfc/rfc9207#section-2)) so the
//! client can tell which server answered.
//!
//! Parameters are appended to the redirect URI exactly as the client sent it: a
//! URL parser would normalise its spelling (`LOCALHOST`, default ports), and the
//! client may compare the callback against what it registered.

use url::form_urlencoded;

/// The redirect URL carrying `params`, then `state` and `iss` when given, on
/// `redirect_uri` (which has been validated: no fragment).
pub fn authorization_response_url(
    redirect_uri: &str,
    params: &[(&str, &str)],
    state: Option<&str>,
    iss: Option<&str>,
) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        query.append_pair(name, value);
    }
    if let Some(state) = state {
        query.append_pair("state", state);
    }
    if let Some(iss) = iss {
        query.append_pair("iss", iss);
    }
    let query = query.finish();
    let separator = match redirect_uri.find('?') {
        None => "?",
        Some(_) if redirect_uri.ends_with(['?', '&']) => "",
        Some(_) => "&",
    };
    format!("{redirect_uri}{separator}{query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_appended_to_the_redirect_uri_as_written() {
        // (redirect URI, expected prefix before the added parameters)
        let table = [
            ("http://127.0.0.1:5000/cb", "http://127.0.0.1:5000/cb?"),
            ("http://LOCALHOST:5000/cb", "http://LOCALHOST:5000/cb?"),
            ("http://127.0.0.1/cb?app=1", "http://127.0.0.1/cb?app=1&"),
            ("http://127.0.0.1/cb?", "http://127.0.0.1/cb?"),
            ("https://app.example/cb?a=1&", "https://app.example/cb?a=1&"),
        ];
        for (uri, prefix) in table {
            let url = authorization_response_url(uri, &[("code", "c")], Some("s"), None);
            assert_eq!(url, format!("{prefix}code=c&state=s"), "{uri}");
        }
    }

    #[test]
    fn values_are_form_encoded_and_iss_comes_last() {
        let url = authorization_response_url(
            "http://127.0.0.1/cb",
            &[
                ("error", "access_denied"),
                ("error_description", "the user said no & left"),
            ],
            Some("a b"),
            Some("https://as.example/t1"),
        );
        assert_eq!(
            url,
            "http://127.0.0.1/cb?error=access_denied&error_description=the+user+said+no+%26+left\
             &state=a+b&iss=https%3A%2F%2Fas.example%2Ft1"
        );
        let parsed = url::Url::parse(&url).unwrap();
        let iss = parsed.query_pairs().find(|(k, _)| k == "iss").unwrap().1;
        assert_eq!(iss, "https://as.example/t1");
    }
}
