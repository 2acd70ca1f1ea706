//! A real OAuth 2.1 authorization server and MCP resource server in one axum
//! process on `127.0.0.1`, for tests, demos and manual experiments. Every OAuth
//! decision is `mcp_oauth_core::server`'s (the toolkit's first user); these
//! modules are the host: routes, storage, the clock, fetching client metadata
//! documents, the request log.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use mcp_oauth_tests::{TestServer, TestServerConfig};
//! let server = TestServer::start(TestServerConfig::default()).await?;
//! println!("MCP server at {}", server.mcp_url());
//! // ... drive a client against it, then inspect server.log() ...
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! Surfaces (with the default empty `issuer_path`):
//!
//! | path | what |
//! | --- | --- |
//! | `GET /.well-known/oauth-authorization-server[/issuer_path]` | RFC 8414 metadata |
//! | `GET /.well-known/oauth-protected-resource/mcp`, `GET /.well-known/oauth-protected-resource` | RFC 9728 metadata (see [`PrmWellKnown`]) |
//! | `GET /resource-metadata/mcp` | the same, at the URL the 401 challenge names |
//! | `GET [issuer_path]/authorize`, `POST [issuer_path]/authorize/approve` | authorization endpoint (registered clients and URL client ids) and consent answer |
//! | `POST [issuer_path]/token` | token endpoint |
//! | `POST [issuer_path]/register` | RFC 7591 registration |
//! | `POST /mcp` | the MCP endpoint (JSON-RPC) |

mod authorize;
mod client_metadata;
mod config;
mod form;
mod log;
mod mcp;
mod metadata;
mod register;
mod reply;
mod state;
mod token;

pub use config::{PreRegisteredClient, PrmWellKnown, Registration, TestServerConfig, ADMIN_SCOPE};
pub use log::LoggedRequest;
pub use mcp::DEFAULT_PROTOCOL_VERSION;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use state::AppState;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use url::Url;

/// Largest request body accepted, in bytes.
pub(crate) const BODY_LIMIT: usize = 64 * 1024;

/// Where the protected-resource metadata named by the 401 challenge lives.
pub(crate) const HEADER_PRM_PATH: &str = "/resource-metadata/mcp";

/// How long [`TestServer::shutdown`] waits for open connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A running test server; dropping it stops it too (without waiting).
#[derive(Debug)]
pub struct TestServer {
    state: Arc<AppState>,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Binds `127.0.0.1:<config.port>` (ephemeral when `0`) and starts serving.
    /// An invalid configuration is an [`io::ErrorKind::InvalidInput`] error.
    pub async fn start(config: TestServerConfig) -> io::Result<TestServer> {
        config
            .validate()
            .map_err(|reason| io::Error::new(io::ErrorKind::InvalidInput, reason))?;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, config.port)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(
            AppState::new(config, format!("http://127.0.0.1:{}", addr.port()))
                .map_err(|reason| io::Error::new(io::ErrorKind::InvalidInput, reason))?,
        );
        let app = router(Arc::clone(&state));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    // A dropped sender stops the server as well.
                    let _ = stopped.await;
                })
                .await;
            if let Err(e) = served {
                tracing::warn!(error = %e, "test server stopped with an error");
            }
        });
        Ok(TestServer {
            state,
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The socket address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:P`.
    pub fn origin(&self) -> String {
        self.state.origin.clone()
    }

    /// The MCP endpoint, `http://127.0.0.1:P/mcp`; also the RFC 8707 resource.
    pub fn mcp_url(&self) -> Url {
        parse(&self.state.mcp_url)
    }

    /// The issuer identifier: `http://127.0.0.1:P` plus the configured issuer path.
    pub fn issuer(&self) -> String {
        self.state.issuer.clone()
    }

    /// The RFC 8414 §3.1 metadata URL for the issuer.
    pub fn authorization_server_metadata_url(&self) -> Url {
        parse(&format!(
            "{}/.well-known/oauth-authorization-server{}",
            self.state.origin, self.state.config.issuer_path
        ))
    }

    /// The path-suffixed RFC 9728 well-known URL of the MCP endpoint.
    pub fn protected_resource_metadata_url(&self) -> Url {
        parse(&format!(
            "{}/.well-known/oauth-protected-resource/mcp",
            self.state.origin
        ))
    }

    /// The protected-resource metadata URL the 401 challenge names (served only
    /// when `prm_in_header` is on).
    pub fn header_protected_resource_metadata_url(&self) -> Url {
        parse(&format!("{}{HEADER_PRM_PATH}", self.state.origin))
    }

    /// The authorization endpoint.
    pub fn authorization_endpoint(&self) -> Url {
        parse(&self.state.endpoint("/authorize"))
    }

    /// The token endpoint.
    pub fn token_endpoint(&self) -> Url {
        parse(&self.state.endpoint("/token"))
    }

    /// The registration endpoint (it answers `403` when registration is closed and
    /// `404` when absent).
    pub fn registration_endpoint(&self) -> Url {
        parse(&self.state.endpoint("/register"))
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &TestServerConfig {
        &self.state.config
    }

    /// Every request answered so far, oldest first.
    pub fn log(&self) -> Vec<LoggedRequest> {
        self.state.log().clone()
    }

    /// Forgets the requests logged so far.
    pub fn clear_log(&self) {
        self.state.log().clear();
    }

    /// How many `method` requests to exactly `path` were answered.
    pub fn count(&self, method: &str, path: &str) -> usize {
        self.state
            .log()
            .iter()
            .filter(|r| r.method.eq_ignore_ascii_case(method) && r.path == path)
            .count()
    }

    /// The configured pre-registered client, as `(client_id, client_secret)`.
    pub fn pre_registered_client(&self) -> Option<(String, Option<String>)> {
        self.state
            .config
            .pre_registered_client
            .as_ref()
            .map(|c| (c.client_id.clone(), c.client_secret.clone()))
    }

    /// Makes every access token issued so far invalid, so the next MCP request
    /// gets a `401` (refresh tokens stay valid).
    pub fn expire_access_tokens(&self) {
        self.state.expire_access_tokens();
    }

    /// Stops accepting connections and waits (briefly) for open ones to finish.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The routes this configuration serves, with body limit, request log and CORS
/// (so browser-based clients can be tested too).
fn router(state: Arc<AppState>) -> Router {
    let config = &state.config;
    let issuer_path = config.issuer_path.clone();
    let mut app = Router::new()
        .route(
            &format!("/.well-known/oauth-authorization-server{issuer_path}"),
            get(metadata::authorization_server),
        )
        .route(
            &format!("{issuer_path}/authorize"),
            get(authorize::authorize),
        )
        .route(
            &format!("{issuer_path}/authorize/approve"),
            post(authorize::decide),
        )
        .route(&format!("{issuer_path}/token"), post(token::token))
        .route("/mcp", post(mcp::mcp));
    if config.registration != Registration::Absent {
        app = app.route(&format!("{issuer_path}/register"), post(register::register));
    }
    if config.prm_well_known.at_path() {
        app = app.route(
            "/.well-known/oauth-protected-resource/mcp",
            get(metadata::protected_resource),
        );
    }
    if config.prm_well_known.at_root() {
        app = app.route(
            "/.well-known/oauth-protected-resource",
            get(metadata::protected_resource),
        );
    }
    if config.prm_in_header {
        app = app.route(HEADER_PRM_PATH, get(metadata::protected_resource));
    }
    app.layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            log::record,
        ))
        // `Access-Control-Allow-Headers: *` does not cover `Authorization` under the
        // Fetch spec, so echo the requested headers instead for browser clients.
        .layer(
            tower_http::cors::CorsLayer::permissive()
                .allow_headers(tower_http::cors::AllowHeaders::mirror_request()),
        )
        .with_state(state)
}

/// Parses a URL this module built from its own parts.
fn parse(url: &str) -> Url {
    match Url::parse(url) {
        Ok(url) => url,
        Err(e) => unreachable!("the test server built an invalid URL {url}: {e}"),
    }
}
