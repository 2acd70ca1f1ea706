//! The loopback listener that receives the authorization callback
//! (RFC 8252 §7.3): `http://127.0.0.1:<port>/callback`, on an ephemeral port or a
//! fixed one the user registered with the authorization server.
//!
//! It binds 127.0.0.1 only. It answers `GET /callback` and nothing else (a
//! favicon request does not end the sign-in). Each callback goes to a verdict
//! function, which in practice hands it to the core flow: a callback with the
//! wrong `state` gets an error page and the listener keeps waiting; the one valid
//! callback gets a "you can close this tab" page and the listener closes. A client
//! that connects and sends nothing, or dribbles bytes, is cut off after a few
//! seconds and cannot hold the listener open past its overall timeout.
//!
//! Any local process can connect, so the listener holds at most
//! [`MAX_CONNECTIONS`] at once (more wait in the kernel's backlog), reaps each
//! connection's task as soon as it ends (40 000 connections cost no more memory
//! than 40), and backs off when `accept` fails (out of file descriptors) instead
//! of spinning on the error.

use crate::error::Error;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

/// The path the callback arrives on.
pub const CALLBACK_PATH: &str = "/callback";

/// How long one connection may take to send its request headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one connection may live at all.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(15);
/// The most connections served at once; a browser needs one or two.
pub const MAX_CONNECTIONS: usize = 32;
/// How long to wait after `accept` fails (EMFILE, ENFILE) before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(200);

/// What the flow made of a callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackVerdict {
    /// The sign-in can finish: show success and stop listening.
    Accepted,
    /// Not for this sign-in (wrong `state`, say): show why and keep waiting.
    Ignored(String),
    /// The sign-in failed (denied, issuer mix-up): show why and stop.
    Failed(String),
}

/// A bound loopback listener, waiting to be run.
#[derive(Debug)]
pub struct LoopbackListener {
    listener: TcpListener,
    port: u16,
}

impl LoopbackListener {
    /// Binds `127.0.0.1:<port>`, or an ephemeral port when `port` is `None`.
    pub async fn bind(port: Option<u16>) -> Result<Self, Error> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port.unwrap_or(0)));
        let listener = TcpListener::bind(addr).await.map_err(|e| Error::Listen {
            addr: addr.to_string(),
            reason: if e.kind() == std::io::ErrorKind::AddrInUse {
                format!(
                    "port {} is in use; close the other program or choose another port",
                    addr.port()
                )
            } else {
                e.to_string()
            },
        })?;
        let port = listener.local_addr().map_err(|e| Error::Listen {
            addr: addr.to_string(),
            reason: e.to_string(),
        })?;
        Ok(Self {
            listener,
            port: port.port(),
        })
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The redirect URI to register and send: `http://127.0.0.1:<port>/callback`.
    pub fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}{CALLBACK_PATH}", self.port)
    }

    /// Serves until `judge` accepts or fails a callback, and returns that final
    /// verdict; errors only when `timeout` passes first. `judge` receives the full
    /// callback URL.
    pub async fn run(
        self,
        timeout: Duration,
        judge: impl FnMut(&str) -> CallbackVerdict,
    ) -> Result<CallbackVerdict, Error> {
        self.serve(timeout, judge, &Tally::default()).await
    }

    async fn serve(
        self,
        timeout: Duration,
        mut judge: impl FnMut(&str) -> CallbackVerdict,
        tally: &Tally,
    ) -> Result<CallbackVerdict, Error> {
        let (tx, mut callbacks) = mpsc::channel::<(String, oneshot::Sender<Page>)>(8);
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let base = format!("http://127.0.0.1:{}", self.port);
        let mut connections = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                () = &mut deadline => {
                    return Err(Error::Timeout { seconds: timeout.as_secs() });
                }
                Some(_) = connections.join_next(), if !connections.is_empty() => {
                    tally.record(connections.len());
                }
                accepted = self.listener.accept(), if connections.len() < MAX_CONNECTIONS => {
                    let stream = match accepted {
                        Ok((stream, _)) => stream,
                        Err(error) => {
                            tracing::warn!(%error, "accepting a callback connection failed; backing off");
                            tokio::time::sleep(ACCEPT_BACKOFF).await;
                            continue;
                        }
                    };
                    let tx = tx.clone();
                    let base = base.clone();
                    connections.spawn(async move {
                        let service = hyper::service::service_fn(move |request| {
                            handle(request, base.clone(), tx.clone())
                        });
                        let connection = hyper::server::conn::http1::Builder::new()
                            .timer(TokioTimer::new())
                            .header_read_timeout(HEADER_TIMEOUT)
                            .keep_alive(false)
                            .serve_connection(TokioIo::new(stream), service);
                        // Dribbling bodies or slow readers are cut off here.
                        let _ = tokio::time::timeout(CONNECTION_TIMEOUT, connection).await;
                    });
                    tally.record(connections.len());
                }
                Some((url, reply)) = callbacks.recv() => {
                    let verdict = judge(&url);
                    let page = match &verdict {
                        CallbackVerdict::Accepted => Page::success(),
                        CallbackVerdict::Ignored(why) | CallbackVerdict::Failed(why) => {
                            Page::error(StatusCode::BAD_REQUEST, why)
                        }
                    };
                    let _ = reply.send(page);
                    if matches!(verdict, CallbackVerdict::Ignored(_)) {
                        continue;
                    }
                    // Let the page reach the browser before the listener goes away.
                    let _ = tokio::time::timeout(Duration::from_secs(2), async {
                        while connections.join_next().await.is_some() {}
                    })
                    .await;
                    return Ok(verdict);
                }
            }
        }
    }
}

/// How many connection tasks the listener held: now, and at most (for tests).
#[derive(Debug, Default)]
struct Tally {
    now: std::sync::atomic::AtomicUsize,
    peak: std::sync::atomic::AtomicUsize,
}

impl Tally {
    fn record(&self, held: usize) {
        use std::sync::atomic::Ordering::Relaxed;
        self.now.store(held, Relaxed);
        self.peak.fetch_max(held, Relaxed);
    }
}

/// A response page.
#[derive(Debug)]
struct Page {
    status: StatusCode,
    html: String,
}

impl Page {
    fn success() -> Self {
        Self {
            status: StatusCode::OK,
            html: page("Signed in", "You can close this tab and return to the app."),
        }
    }

    fn error(status: StatusCode, message: &str) -> Self {
        Self {
            status,
            html: page("Sign-in problem", message),
        }
    }
}

fn page(title: &str, message: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body style=\"font-family:system-ui,sans-serif;margin:4rem auto;max-width:32rem\">\
         <h1>{title}</h1><p>{}</p></body></html>",
        escape_html(message)
    )
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn handle(
    request: Request<Incoming>,
    base: String,
    callbacks: mpsc::Sender<(String, oneshot::Sender<Page>)>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let page = if request.method() != hyper::Method::GET || request.uri().path() != CALLBACK_PATH {
        Page::error(StatusCode::NOT_FOUND, "Not found.")
    } else {
        let url = format!("{base}{}", request.uri());
        let (reply, verdict) = oneshot::channel();
        match callbacks.send((url, reply)).await {
            Ok(()) => verdict.await.unwrap_or_else(|_| {
                Page::error(StatusCode::GONE, "This sign-in is no longer waiting.")
            }),
            Err(_) => Page::error(StatusCode::GONE, "This sign-in is no longer waiting."),
        }
    };
    let mut response = Response::new(Full::new(Bytes::from(page.html)));
    *response.status_mut() = page.status;
    let headers = response.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        "text/html; charset=utf-8".parse().expect("static"),
    );
    headers.insert(
        hyper::header::CACHE_CONTROL,
        "no-store".parse().expect("static"),
    );
    headers.insert("referrer-policy", "no-referrer".parse().expect("static"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn get(url: &str) -> (u16, String) {
        let response = reqwest::get(url).await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    #[tokio::test]
    async fn ignores_other_paths_and_wrong_state_then_accepts_the_valid_callback() {
        let listener = LoopbackListener::bind(None).await.unwrap();
        let redirect = listener.redirect_uri();
        assert!(redirect.starts_with("http://127.0.0.1:") && redirect.ends_with("/callback"));
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen2 = seen.clone();
        let server = tokio::spawn(listener.run(Duration::from_secs(10), move |url| {
            seen2.lock().unwrap().push(url.to_owned());
            if url.contains("state=good") {
                CallbackVerdict::Accepted
            } else {
                CallbackVerdict::Ignored("state mismatch <script>".into())
            }
        }));
        let base = redirect.trim_end_matches("/callback").to_owned();
        assert_eq!(get(&format!("{base}/favicon.ico")).await.0, 404);
        let (status, body) = get(&format!("{redirect}?code=x&state=bad")).await;
        assert_eq!(status, 400);
        assert!(
            body.contains("state mismatch &lt;script&gt;"),
            "escaped: {body}"
        );
        let (status, body) = get(&format!("{redirect}?code=x&state=good")).await;
        assert_eq!(status, 200);
        assert!(body.contains("close this tab"));
        let verdict = tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(verdict, CallbackVerdict::Accepted);
        assert_eq!(
            seen.lock().unwrap().len(),
            2,
            "favicon never reached the flow"
        );
        assert!(
            reqwest::get(&redirect).await.is_err(),
            "closed after the valid callback"
        );
    }

    #[tokio::test]
    async fn times_out_without_a_valid_callback() {
        let listener = LoopbackListener::bind(None).await.unwrap();
        let err = listener
            .run(Duration::from_millis(200), |_| CallbackVerdict::Accepted)
            .await
            .unwrap_err();
        assert_eq!(err.code(), "timeout");
    }

    #[tokio::test]
    async fn a_silent_connection_cannot_hold_it_open() {
        let listener = LoopbackListener::bind(None).await.unwrap();
        let port = listener.port();
        let server =
            tokio::spawn(listener.run(Duration::from_secs(20), |_| CallbackVerdict::Accepted));
        // One connection that never speaks, one that dribbles a request line.
        let _silent = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        let mut dribbler = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        dribbler.write_all(b"GET /callback?state=").await.unwrap();
        // A real browser still gets through while they hang.
        let (status, _) = get(&format!("http://127.0.0.1:{port}/callback?code=c&state=s")).await;
        assert_eq!(status, 200);
        tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        // The dribbler is cut off rather than served forever.
        let mut buf = [0u8; 64];
        let read = tokio::time::timeout(Duration::from_secs(10), dribbler.read(&mut buf)).await;
        assert!(
            matches!(read, Ok(Ok(_)) | Ok(Err(_))),
            "connection closed by the server"
        );
    }

    #[tokio::test]
    async fn finished_connections_are_reaped_as_they_end() {
        use std::sync::atomic::Ordering::Relaxed;
        let listener = LoopbackListener::bind(None).await.unwrap();
        let port = listener.port();
        let tally = std::sync::Arc::new(Tally::default());
        let seen = tally.clone();
        let server = tokio::spawn(async move {
            listener
                .serve(
                    Duration::from_secs(20),
                    |_| CallbackVerdict::Accepted,
                    &seen,
                )
                .await
        });
        let http = reqwest::Client::new();
        for _ in 0..200 {
            let status = http
                .get(format!("http://127.0.0.1:{port}/favicon.ico"))
                .send()
                .await
                .unwrap()
                .status();
            assert_eq!(status, 404);
        }
        // Let the last task end and be reaped.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            tally.peak.load(Relaxed) < 10,
            "held {} finished connection tasks",
            tally.peak.load(Relaxed)
        );
        server.abort();
    }

    #[tokio::test]
    async fn at_most_max_connections_are_served_at_once_and_the_callback_still_arrives() {
        use std::sync::atomic::Ordering::Relaxed;
        let listener = LoopbackListener::bind(None).await.unwrap();
        let port = listener.port();
        let tally = std::sync::Arc::new(Tally::default());
        let seen = tally.clone();
        let server = tokio::spawn(async move {
            listener
                .serve(
                    Duration::from_secs(30),
                    |_| CallbackVerdict::Accepted,
                    &seen,
                )
                .await
        });
        let mut silent = Vec::new();
        for _ in 0..(MAX_CONNECTIONS + 40) {
            silent.push(
                tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .unwrap(),
            );
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(tally.peak.load(Relaxed), MAX_CONNECTIONS);
        // The silent ones are cut off after the header timeout; the browser's
        // callback, queued behind them, still gets through.
        let (status, _) = get(&format!("http://127.0.0.1:{port}/callback?code=c&state=s")).await;
        assert_eq!(status, 200);
        let verdict = tokio::time::timeout(Duration::from_secs(25), server)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(verdict, CallbackVerdict::Accepted);
    }

    #[tokio::test]
    async fn a_fixed_port_in_use_is_a_clear_error() {
        let first = LoopbackListener::bind(None).await.unwrap();
        let err = LoopbackListener::bind(Some(first.port()))
            .await
            .unwrap_err();
        assert_eq!(err.code(), "listen_failed");
        assert!(err.to_string().contains("in use"), "{err}");
    }

    #[tokio::test]
    async fn a_failed_callback_stops_with_the_reason() {
        let listener = LoopbackListener::bind(None).await.unwrap();
        let redirect = listener.redirect_uri();
        let server = tokio::spawn(listener.run(Duration::from_secs(10), |_| {
            CallbackVerdict::Failed("access_denied".into())
        }));
        assert_eq!(
            get(&format!("{redirect}?error=access_denied&state=s"))
                .await
                .0,
            400
        );
        let outcome = tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            outcome.unwrap(),
            CallbackVerdict::Failed("access_denied".into())
        );
    }
}
