//! `mcp-oauth`: sign in to MCP servers from the command line.
//!
//! Exit codes: 0 success, 1 failure, 2 usage error, 3 not signed in (or the
//! connection needs a reconnect), so scripts can tell "run login" apart.

mod demo;
mod output;

use clap::{Args, Parser, Subcommand};
use mcp_oauth::core::client_auth::AuthMethod;
use mcp_oauth::core::Secret;
use mcp_oauth::opener::{CommandBrowser, PrintUrl};
use mcp_oauth::{OAuthClient, Preset, Revocation};
use output::{fail, Exit};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "mcp-oauth",
    version,
    about = "Sign in to MCP servers with OAuth and keep their tokens fresh."
)]
struct Cli {
    /// Token store file (default: $MCP_OAUTH_STORE, else ~/.config/mcp-oauth/tokens.json).
    #[arg(long, global = true)]
    store: Option<PathBuf>,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Sign in to a server (dynamic discovery, or manual with --client-id).
    Login(LoginArgs),
    /// Show every stored connection and whether it is usable.
    Status,
    /// Print a valid access token for a server, refreshing it if needed.
    Token {
        /// The server URL given to `login`.
        server_url: String,
    },
    /// Sign out of a server (or of all servers): revoke its tokens at the server
    /// when it supports RFC 7009, and forget them here.
    Logout {
        /// The server URL given to `login`.
        server_url: Option<String>,
        /// Forget every connection.
        #[arg(long, conflicts_with = "server_url")]
        all: bool,
    },
    /// Show how a server signs clients in, before signing in: issuer, client
    /// authentication methods, whether a secret is needed, registration, scopes.
    Inspect {
        /// A server (MCP) URL, an issuer, or an authorization-endpoint URL.
        url: String,
    },
    /// Run the whole flow against a bundled local test server; no network needed.
    Demo,
}

#[derive(Args)]
struct LoginArgs {
    /// The MCP server URL.
    server_url: String,
    /// Use a client you registered yourself (manual preset).
    #[arg(long)]
    client_id: Option<String>,
    /// The client secret of that app.
    #[arg(
        long,
        requires = "client_id",
        env = "MCP_OAUTH_CLIENT_SECRET",
        hide_env_values = true
    )]
    client_secret: Option<String>,
    /// Authorization endpoint URL (manual preset).
    #[arg(long, requires = "client_id")]
    auth_url: Option<String>,
    /// Token endpoint URL (manual preset).
    #[arg(long, requires = "client_id")]
    token_url: Option<String>,
    /// Space-separated scopes to request.
    #[arg(long)]
    scopes: Option<String>,
    /// Token endpoint auth method: none, client_secret_basic or client_secret_post (manual preset).
    #[arg(long, requires = "client_id", value_parser = parse_auth_method)]
    auth_method: Option<AuthMethod>,
    /// The authorization server's issuer (manual preset): enables the metadata lookup and iss checks.
    #[arg(long, requires = "client_id")]
    issuer: Option<String>,
    /// Fixed loopback port for the callback (when the server allowlists an exact redirect URI).
    #[arg(long)]
    port: Option<u16>,
    /// Open the URL with this command instead of the system browser: a program and
    /// its arguments, split like a shell would (quotes, escapes) but run without
    /// one; the URL is added as the last argument.
    #[arg(long, conflicts_with = "no_browser", value_parser = parse_command_line)]
    browser: Option<CommandLine>,
    /// Print the URL and wait instead of opening a browser.
    #[arg(long)]
    no_browser: bool,
    /// Give up after this many seconds without a callback.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
}

/// A program and its arguments.
#[derive(Debug, Clone)]
struct CommandLine(Vec<String>);

/// Splits `--browser` into a program and its arguments (POSIX shell words).
fn parse_command_line(value: &str) -> Result<CommandLine, String> {
    match shlex::split(value) {
        Some(words) if !words.is_empty() => Ok(CommandLine(words)),
        Some(_) => Err("the browser command is empty".into()),
        None => Err("the browser command has an unterminated quote or escape".into()),
    }
}

fn parse_auth_method(value: &str) -> Result<AuthMethod, String> {
    AuthMethod::from_name(value)
        .ok_or_else(|| "expected none, client_secret_basic or client_secret_post".into())
}

fn default_store() -> PathBuf {
    if let Some(path) = std::env::var_os("MCP_OAUTH_STORE") {
        return path.into();
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("mcp-oauth").join("tokens.json")
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("MCP_OAUTH_LOG"))
        .with_writer(std::io::stderr)
        .init();
    let result = run(cli).await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(exit) => exit.report(),
    }
}

async fn run(cli: Cli) -> Result<(), Exit> {
    let store = cli.store.clone().unwrap_or_else(default_store);
    match cli.command {
        Command::Login(args) => login(store, cli.json, args).await,
        Command::Status => status(store, cli.json).await,
        Command::Token { server_url } => token(store, &server_url).await,
        Command::Logout { server_url, all } => logout(store, cli.json, server_url, all).await,
        Command::Inspect { url } => inspect(cli.json, &url).await,
        Command::Demo => demo::run(cli.json).await,
    }
}

/// A client on the store file that prints warnings about the store (an
/// unreadable file moved aside) on stderr, whatever the command.
fn client_builder(store: &PathBuf) -> mcp_oauth::OAuthClientBuilder {
    OAuthClient::builder("mcp-oauth CLI")
        .file_store(store)
        .observer(output::print_warnings)
}

async fn login(store: PathBuf, json: bool, args: LoginArgs) -> Result<(), Exit> {
    let mut builder =
        client_builder(&store).callback_timeout(std::time::Duration::from_secs(args.timeout));
    if !json {
        builder = builder.observer(output::print_progress);
    }
    if let Some(port) = args.port {
        builder = builder.callback_port(port);
    }
    if let Some(CommandLine(mut words)) = args.browser {
        let program = words.remove(0);
        builder = builder.opener(CommandBrowser::new(program, words));
    } else if args.no_browser {
        builder = builder.opener(PrintUrl);
    }
    let client = builder.build().map_err(fail)?;
    let preset = match args.client_id {
        None => {
            let mut preset = Preset::dynamic(&args.server_url);
            if let Preset::Dynamic(p) = &mut preset {
                p.scope = args.scopes;
            }
            preset
        }
        Some(client_id) => {
            let (Some(auth_url), Some(token_url)) = (args.auth_url, args.token_url) else {
                return Err(Exit::usage(
                    "a manual login needs --auth-url and --token-url with --client-id",
                ));
            };
            let mut preset = Preset::manual(
                client_id,
                args.client_secret.map(Secret::new),
                auth_url,
                token_url,
            );
            preset.scopes = args.scopes;
            preset.server_url = Some(args.server_url.clone());
            preset.auth_method = args.auth_method;
            preset.issuer = args.issuer;
            preset.into()
        }
    };
    let connection = client.connect(preset).await.map_err(fail)?;
    let status = connection.status().await;
    if json {
        output::json(&serde_json::json!({ "connection": connection.id(), "status": status }));
    } else {
        println!(
            "Signed in to {} ({}).",
            connection.id(),
            output::describe(&status)
        );
    }
    Ok(())
}

async fn status(store: PathBuf, json: bool) -> Result<(), Exit> {
    let client = client_builder(&store).build().map_err(fail)?;
    let mut rows = Vec::new();
    for id in client.connection_ids().await.map_err(fail)? {
        if let Some(connection) = client.connection(&id).await.map_err(fail)? {
            let session = connection.session().await;
            rows.push((id, session.grant.issuer.clone(), connection.status().await));
        }
    }
    if json {
        let list: Vec<_> = rows
            .iter()
            .map(|(id, issuer, status)| serde_json::json!({ "connection": id, "issuer": issuer, "status": status }))
            .collect();
        output::json(&serde_json::json!(list));
    } else if rows.is_empty() {
        println!(
            "No connections in {}. Run `mcp-oauth login <server-url>`.",
            store.display()
        );
    } else {
        for (id, issuer, status) in &rows {
            println!(
                "{id}\n  issuer: {issuer}\n  status: {}",
                output::describe(status)
            );
        }
    }
    Ok(())
}

async fn token(store: PathBuf, server_url: &str) -> Result<(), Exit> {
    let client = client_builder(&store).build().map_err(fail)?;
    let connection = client
        .connection(server_url)
        .await
        .map_err(fail)?
        .ok_or_else(|| Exit::not_signed_in(server_url))?;
    let token = connection.access_token().await.map_err(fail)?;
    println!("{}", token.expose());
    Ok(())
}

async fn logout(
    store: PathBuf,
    json: bool,
    server_url: Option<String>,
    all: bool,
) -> Result<(), Exit> {
    let client = client_builder(&store).build().map_err(fail)?;
    let ids = match (server_url, all) {
        (Some(url), _) => vec![url],
        (None, true) => client.connection_ids().await.map_err(fail)?,
        (None, false) => return Err(Exit::usage("name a server URL, or pass --all")),
    };
    let mut outcomes = Vec::new();
    for id in &ids {
        outcomes.push((id, client.disconnect(id).await.map_err(fail)?));
    }
    if json {
        let list: Vec<_> = outcomes
            .iter()
            .map(|(id, outcome)| {
                let mut row = serde_json::json!({ "connection": id, "revocation": output::revocation_word(outcome) });
                if let Revocation::Failed(error) = outcome {
                    row["error"] = serde_json::json!({ "code": error.code(), "message": error.to_string() });
                }
                row
            })
            .collect();
        output::json(&serde_json::json!({ "logged_out": list }));
    } else {
        for (id, outcome) in &outcomes {
            println!(
                "Signed out of {id} ({}).",
                output::describe_revocation(outcome)
            );
        }
    }
    Ok(())
}

async fn inspect(json: bool, url: &str) -> Result<(), Exit> {
    let client = OAuthClient::builder("mcp-oauth CLI")
        .build()
        .map_err(fail)?;
    let info = client.inspect(url).await.map_err(fail)?;
    if json {
        output::json(&serde_json::to_value(&info).unwrap_or_default());
    } else {
        output::print_server_info(&info);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_command_lines_split_like_a_shell_but_run_without_one() {
        let table: &[(&str, Option<&[&str]>)] = &[
            ("firefox", Some(&["firefox"])),
            (
                "open -a 'Google Chrome'",
                Some(&["open", "-a", "Google Chrome"]),
            ),
            (
                r#"node "/path with spaces/agent.mjs" --quiet"#,
                Some(&["node", "/path with spaces/agent.mjs", "--quiet"]),
            ),
            // Shell syntax is just text: no expansion, no command separators.
            ("echo $HOME;rm", Some(&["echo", "$HOME;rm"])),
            ("", None),
            ("'unterminated", None),
        ];
        for (line, want) in table {
            let got = parse_command_line(line)
                .ok()
                .map(|CommandLine(words)| words);
            let want = want.map(|w| w.iter().map(|s| s.to_string()).collect::<Vec<_>>());
            assert_eq!(got, want, "{line}");
        }
    }
}
