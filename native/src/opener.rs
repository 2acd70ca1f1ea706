//! Opening the authorization URL: the system browser by default, a program the
//! user names, a host callback (Electron passes `shell.openExternal`), or a
//! headless user agent for demos and tests.
//!
//! Only `http` and `https` URLs are ever opened, and never through a shell, so a
//! hostile authorization endpoint cannot smuggle in `file:` URLs or shell syntax.

use crate::error::Error;
use std::process::{Command, Stdio};
use url::Url;

/// Something that can show the user an authorization URL.
pub trait BrowserOpener: Send + Sync {
    /// Opens `url`; called only with http(s) URLs.
    fn open(&self, url: &Url) -> Result<(), Error>;
}

/// Refuses anything but http(s) before any opener sees it.
pub(crate) fn open_checked(opener: &dyn BrowserOpener, url: &Url) -> Result<(), Error> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::Browser(format!(
            "refusing to open a {} URL; only http and https are allowed",
            url.scheme()
        )));
    }
    opener.open(url)
}

/// The user's default browser.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemBrowser;

impl BrowserOpener for SystemBrowser {
    fn open(&self, url: &Url) -> Result<(), Error> {
        webbrowser::open(url.as_str()).map_err(|e| Error::Browser(e.to_string()))
    }
}

/// Runs a program with the URL as its last argument (no shell involved).
#[derive(Debug, Clone)]
pub struct CommandBrowser {
    program: String,
    args: Vec<String>,
}

impl CommandBrowser {
    /// `program [args...] <url>`.
    pub fn new(program: impl Into<String>, args: Vec<String>) -> Self {
        Self {
            program: program.into(),
            args,
        }
    }
}

impl BrowserOpener for CommandBrowser {
    fn open(&self, url: &Url) -> Result<(), Error> {
        Command::new(&self.program)
            .args(&self.args)
            .arg(url.as_str())
            .stdin(Stdio::null())
            .spawn()
            .map(drop)
            .map_err(|e| Error::Browser(format!("cannot run {}: {e}", self.program)))
    }
}

/// Prints the URL for the user to open by hand.
#[derive(Debug, Clone, Copy, Default)]
pub struct PrintUrl;

impl BrowserOpener for PrintUrl {
    fn open(&self, url: &Url) -> Result<(), Error> {
        eprintln!("Open this URL in your browser to sign in:\n\n  {url}\n");
        Ok(())
    }
}

/// A host-provided opener.
pub struct FnOpener<F>(pub F);

impl<F: Fn(&Url) -> Result<(), String> + Send + Sync> BrowserOpener for FnOpener<F> {
    fn open(&self, url: &Url) -> Result<(), Error> {
        (self.0)(url).map_err(Error::Browser)
    }
}

/// A user agent without a user, for demos, CI and conformance runs: it follows the
/// authorization URL's redirects (as a browser would after an automatic consent)
/// until they reach the loopback listener. Needs a running tokio runtime.
#[derive(Debug, Clone)]
pub struct HeadlessBrowser {
    client: reqwest::Client,
}

impl HeadlessBrowser {
    /// A headless user agent following up to 10 redirects.
    pub fn new() -> Result<Self, Error> {
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .redirect(reqwest::redirect::Policy::limited(10))
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| Error::Browser(e.to_string()))?;
        Ok(Self { client })
    }

    /// Follows `url` and its redirects to the end, as `open` does in the
    /// background; returns the final HTTP status.
    pub async fn follow(&self, url: &Url) -> Result<u16, Error> {
        let response = self
            .client
            .get(url.as_str())
            .send()
            .await
            .map_err(|e| Error::Browser(format!("headless browser: {e}")))?;
        Ok(response.status().as_u16())
    }
}

impl BrowserOpener for HeadlessBrowser {
    fn open(&self, url: &Url) -> Result<(), Error> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::Browser("the headless browser needs a tokio runtime".into()))?;
        let (browser, url) = (self.clone(), url.clone());
        runtime.spawn(async move {
            if let Err(error) = browser.follow(&url).await {
                tracing::warn!(%error, "headless browser could not follow the authorization URL");
            }
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn only_http_and_https_urls_reach_the_opener() {
        let opened = Mutex::new(Vec::new());
        let opener = FnOpener(|url: &Url| {
            opened.lock().unwrap().push(url.to_string());
            Ok(())
        });
        for bad in [
            "file:///etc/passwd",
            "javascript:alert(1)",
            "ms-settings:home",
        ] {
            let err = open_checked(&opener, &Url::parse(bad).unwrap()).unwrap_err();
            assert_eq!(err.code(), "browser_failed");
        }
        open_checked(
            &opener,
            &Url::parse("https://auth.example.com/authorize?x=1").unwrap(),
        )
        .unwrap();
        assert_eq!(
            *opened.lock().unwrap(),
            ["https://auth.example.com/authorize?x=1"]
        );
    }

    #[test]
    fn a_command_browser_gets_the_url_as_one_argument_without_a_shell() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("args");
        // `sh -c '...' argv0 url` writes the URL argument verbatim; shell
        // metacharacters in the URL stay inert because they are an argument.
        let opener = CommandBrowser::new(
            "sh",
            vec![
                "-c".into(),
                format!("printf %s \"$1\" > {}", out.display()),
                "argv0".into(),
            ],
        );
        let url =
            Url::parse("https://auth.example.com/authorize?a=1&b=$(touch%20pwned);x").unwrap();
        opener.open(&url).unwrap();
        for _ in 0..100 {
            if std::fs::read_to_string(&out).is_ok_and(|s| !s.is_empty()) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert_eq!(std::fs::read_to_string(&out).unwrap(), url.as_str());
        assert!(!dir.path().join("pwned").exists());
    }
}
