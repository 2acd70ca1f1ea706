//! `mcp-oauth-test-server`: runs the local OAuth authorization server + MCP
//! resource server on 127.0.0.1, prints the MCP URL, and serves until Ctrl-C.
//!
//! Every knob of [`TestServerConfig`] is a flag; `--help` lists them.

use clap::{Parser, ValueEnum};
use mcp_oauth_core::client_auth::AuthMethod;
use mcp_oauth_tests::server::{PreRegisteredClient, PrmWellKnown, Registration};
use mcp_oauth_tests::{TestServer, TestServerConfig};
use std::io::Write as _;
use std::process::ExitCode;

/// A local OAuth 2.1 authorization server and MCP resource server for testing
/// MCP clients.
#[derive(Debug, Parser)]
#[command(name = "mcp-oauth-test-server", version)]
struct Args {
    /// TCP port on 127.0.0.1 (0 = ephemeral).
    #[arg(long, default_value_t = 0, env = "MCP_OAUTH_TEST_SERVER_PORT")]
    port: u16,
    /// Issuer path below the origin, e.g. /tenant1.
    #[arg(long, default_value = "")]
    issuer_path: String,
    /// Dynamic client registration.
    #[arg(long, value_enum, default_value_t = RegistrationArg::Open)]
    registration: RegistrationArg,
    /// Token-endpoint auth methods advertised and enforced (comma-separated).
    #[arg(
        long,
        value_delimiter = ',',
        value_parser = parse_auth_method,
        default_value = "none,client_secret_basic,client_secret_post"
    )]
    auth_methods: Vec<AuthMethod>,
    /// Access-token lifetime (expires_in), in seconds.
    #[arg(long, default_value_t = 3600)]
    token_lifetime: u64,
    /// Issue no refresh tokens.
    #[arg(long)]
    no_refresh_tokens: bool,
    /// Keep refresh tokens valid across refreshes (no rotation).
    #[arg(long)]
    no_rotation: bool,
    /// Make every refresh fail with invalid_grant.
    #[arg(long)]
    refresh_fails: bool,
    /// Do not send (or advertise) the RFC 9207 iss parameter.
    #[arg(long)]
    no_iss: bool,
    /// scopes_supported (comma-separated).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "mcp:read,mcp:write,mcp:admin"
    )]
    scopes: Vec<String>,
    /// Scopes of the 401 challenge, granted when a request names none
    /// (comma-separated; "" for none).
    #[arg(long, value_delimiter = ',', default_value = "mcp:read,mcp:write")]
    default_scopes: Vec<String>,
    /// Leave resource_metadata out of the 401 challenge.
    #[arg(long)]
    no_prm_header: bool,
    /// Which RFC 9728 well-known URLs serve the protected-resource metadata.
    #[arg(long, value_enum, default_value_t = PrmArg::Both)]
    prm_well_known: PrmArg,
    /// Refuse authorization and token requests without an RFC 8707 resource.
    #[arg(long)]
    require_resource: bool,
    /// Show an HTML consent page instead of redirecting straight back.
    #[arg(long)]
    consent_page: bool,
    /// client_id of a pre-registered client.
    #[arg(long)]
    client_id: Option<String>,
    /// Secret of the pre-registered client (omit for a public client).
    #[arg(long, requires = "client_id")]
    client_secret: Option<String>,
    /// A redirect URI registered for the pre-registered client (repeatable).
    /// A loopback one matches on any port (RFC 8252 §7.3), nothing else varies.
    #[arg(long, default_value = PreRegisteredClient::DESKTOP_REDIRECT_URI)]
    client_redirect_uri: Vec<String>,
    /// Refuse URL client ids (Client ID Metadata Documents) and stop advertising them.
    #[arg(long)]
    no_client_metadata_documents: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RegistrationArg {
    Open,
    Closed,
    Absent,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum PrmArg {
    Both,
    Path,
    Root,
    Off,
}

fn parse_auth_method(name: &str) -> Result<AuthMethod, String> {
    AuthMethod::from_name(name).ok_or_else(|| {
        format!("unknown method {name}; use none, client_secret_basic or client_secret_post")
    })
}

impl Args {
    fn config(self) -> TestServerConfig {
        let non_empty = |v: Vec<String>| v.into_iter().filter(|s| !s.is_empty()).collect();
        TestServerConfig {
            port: self.port,
            issuer_path: self.issuer_path,
            registration: match self.registration {
                RegistrationArg::Open => Registration::Open,
                RegistrationArg::Closed => Registration::Closed,
                RegistrationArg::Absent => Registration::Absent,
            },
            token_endpoint_auth_methods: self.auth_methods,
            access_token_lifetime_secs: self.token_lifetime,
            issue_refresh_tokens: !self.no_refresh_tokens,
            rotate_refresh_tokens: !self.no_rotation,
            refresh_always_fails: self.refresh_fails,
            iss_parameter: !self.no_iss,
            scopes_supported: non_empty(self.scopes),
            default_scopes: non_empty(self.default_scopes),
            prm_in_header: !self.no_prm_header,
            prm_well_known: match self.prm_well_known {
                PrmArg::Both => PrmWellKnown::Both,
                PrmArg::Path => PrmWellKnown::PathOnly,
                PrmArg::Root => PrmWellKnown::RootOnly,
                PrmArg::Off => PrmWellKnown::Off,
            },
            require_resource: self.require_resource,
            consent_page: self.consent_page,
            pre_registered_client: self.client_id.map(|client_id| PreRegisteredClient {
                client_id,
                client_secret: self.client_secret,
                redirect_uris: self.client_redirect_uri,
            }),
            client_id_metadata_documents: !self.no_client_metadata_documents,
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let server = match TestServer::start(Args::parse().config()).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("mcp-oauth-test-server: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The MCP URL alone on the first stdout line, for scripts.
    println!("{}", server.mcp_url());
    eprintln!("issuer:           {}", server.issuer());
    eprintln!(
        "AS metadata:      {}",
        server.authorization_server_metadata_url()
    );
    eprintln!(
        "PRM (well-known): {}",
        server.protected_resource_metadata_url()
    );
    if let Some((id, secret)) = server.pre_registered_client() {
        eprintln!(
            "pre-registered:   client_id={id}{}",
            secret
                .map(|s| format!(" client_secret={s}"))
                .unwrap_or_default()
        );
    }
    eprintln!("press Ctrl-C to stop");
    let _ = std::io::stdout().flush();
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("mcp-oauth-test-server: cannot wait for Ctrl-C: {e}");
    }
    server.shutdown().await;
    ExitCode::SUCCESS
}
