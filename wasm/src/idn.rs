//! International domain names, turned into punycode by the browser's own URL
//! parser before core sees a URL.
//!
//! The browser package is built without Unicode IDNA tables (see
//! `wasm/browser/Cargo.toml`), so core's URL parser accepts only ASCII host
//! names there. Every URL a page hands in that is not plain ASCII goes through
//! `new URL()` first, which applies the same WHATWG URL Standard host processing
//! (UTS 46, to punycode) as the native build: `https://bücher.example/mcp`
//! reaches core as `https://xn--bcher-kva.example/mcp`. ASCII URLs pass through
//! untouched, byte for byte (an issuer is compared as a plain string). URLs
//! inside OAuth metadata are RFC 3986 URIs, ASCII by definition.

use crate::error::{Failure, INVALID_CONFIG};

/// `url` with any international domain name in punycode; ASCII input unchanged.
pub(crate) fn ascii_url(what: &str, url: String) -> Result<String, Failure> {
    if url.is_ascii() {
        return Ok(url);
    }
    web_sys::Url::new(&url)
        .map(|parsed| parsed.href())
        .map_err(|e| Failure::from_js(INVALID_CONFIG, &format!("{what} {url} is not a URL"), &e))
}

/// [`ascii_url`] for an optional field.
pub(crate) fn ascii_url_opt(what: &str, url: Option<String>) -> Result<Option<String>, Failure> {
    url.map(|url| ascii_url(what, url)).transpose()
}
