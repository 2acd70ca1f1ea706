//! How the CLI talks to people and scripts: progress lines, status words, JSON,
//! and errors with exit codes.

use mcp_oauth::core::http::Purpose;
use mcp_oauth::core::inspect::{RegistrationAvailability, ServerInfo};
use mcp_oauth::core::session::Status;
use mcp_oauth::{Progress, Revocation};
use std::process::ExitCode;

/// A failed command: what to print and which exit code to use.
pub struct Exit {
    code: u8,
    message: String,
    error_code: Option<&'static str>,
}

impl Exit {
    /// Wrong arguments.
    pub fn usage(message: &str) -> Self {
        Self {
            code: 2,
            message: message.to_owned(),
            error_code: None,
        }
    }

    /// Nothing stored for this server.
    pub fn not_signed_in(server: &str) -> Self {
        Self {
            code: 3,
            message: format!("not signed in to {server}; run `mcp-oauth login {server}`"),
            error_code: Some("not_signed_in"),
        }
    }

    /// Anything else that went wrong.
    pub fn failure(message: String) -> Self {
        Self {
            code: 1,
            message,
            error_code: None,
        }
    }

    /// Prints the error and turns it into the process exit code.
    pub fn report(self) -> ExitCode {
        match self.error_code {
            Some(code) => eprintln!("error [{code}]: {}", self.message),
            None => eprintln!("error: {}", self.message),
        }
        ExitCode::from(self.code)
    }
}

/// Maps an SDK error to an exit: 3 when the user must sign in again.
pub fn fail(error: mcp_oauth::Error) -> Exit {
    let code = error.code();
    Exit {
        code: if code == "reauth_required" { 3 } else { 1 },
        message: error.to_string(),
        error_code: Some(code),
    }
}

/// Warnings every command prints on stderr: the store file was unreadable and
/// moved aside (the user's sign-ins are gone; the old file is kept).
pub fn print_warnings(progress: &Progress) {
    if let Progress::StoreMovedAside {
        path,
        moved_to,
        reason,
    } = progress
    {
        eprintln!(
            "warning: the token store {} was unreadable ({reason}); it was moved to {} and every connection must sign in again",
            path.display(),
            moved_to.display()
        );
    }
}

/// One line per step, as it happens.
pub fn print_progress(progress: &Progress) {
    match progress {
        Progress::StoreMovedAside { .. } => print_warnings(progress),
        Progress::Request {
            purpose,
            method,
            url,
            status,
        } => eprintln!("  {:<13} {method} {url} -> {status}", step_name(*purpose)),
        Progress::OpenBrowser { url } => eprintln!("  {:<13} {url}", "authorize"),
        Progress::CallbackIgnored { reason } => eprintln!("  {:<13} ignored: {reason}", "callback"),
        Progress::CallbackAccepted => eprintln!("  {:<13} accepted", "callback"),
        Progress::SignedIn {
            issuer,
            client_id,
            scope,
            expires_at,
        } => eprintln!(
            "  {:<13} issuer {issuer}, client {client_id}, scope {}, token expires {}",
            "signed in",
            scope.as_deref().unwrap_or("-"),
            expires_at.map_or("never".to_owned(), relative)
        ),
        Progress::Refreshed { expires_at } => eprintln!(
            "  {:<13} new access token, expires {}",
            "refresh",
            expires_at.map_or("never".to_owned(), relative)
        ),
        Progress::RefreshFailed { code } => eprintln!("  {:<13} failed: {code}", "refresh"),
        _ => {}
    }
}

fn step_name(purpose: Purpose) -> &'static str {
    match purpose {
        Purpose::Probe => "probe",
        Purpose::ResourceMetadata => "discovery",
        Purpose::AuthorizationServerMetadata => "discovery",
        Purpose::Registration => "registration",
        Purpose::Token => "token",
        Purpose::Revocation => "revocation",
    }
}

/// A status in words, with the expiry relative to now.
pub fn describe(status: &Status) -> String {
    match status {
        Status::Connected {
            expires_at: Some(at),
        } => format!("connected, token expires {}", relative(*at)),
        Status::Connected { expires_at: None } => {
            "connected (the server did not say when the token expires)".into()
        }
        Status::Expired { .. } => "expired: refresh failed, run login again".into(),
        Status::ReauthRequired => "reconnect needed: run login again".into(),
    }
}

/// What a sign-out did at the server, in one word for JSON.
pub fn revocation_word(outcome: &Revocation) -> &'static str {
    match outcome {
        Revocation::Revoked => "revoked",
        Revocation::Unsupported => "unsupported",
        Revocation::Failed(_) => "failed",
        Revocation::NotSignedIn => "not_signed_in",
    }
}

/// What a sign-out did at the server, for people.
pub fn describe_revocation(outcome: &Revocation) -> String {
    match outcome {
        Revocation::Revoked => "tokens revoked at the server".into(),
        Revocation::Unsupported => {
            "the server offers no revocation; its grant ends when the tokens expire".into()
        }
        Revocation::Failed(error) => format!(
            "revocation failed [{}]: {error}; the tokens were forgotten here",
            error.code()
        ),
        Revocation::NotSignedIn => "nothing was stored".into(),
    }
}

/// What `inspect` found, one fact a line.
pub fn print_server_info(info: &ServerInfo) {
    let list = |items: &Option<Vec<String>>| {
        items
            .as_ref()
            .map_or("(not listed)".to_owned(), |items| items.join(" "))
    };
    if let Some(resource) = &info.resource {
        println!("resource:               {resource}");
        println!(
            "resource scopes:        {}",
            list(&info.resource_scopes_supported)
        );
    }
    println!("issuer:                 {}", info.issuer);
    println!("authorization endpoint: {}", info.authorization_endpoint);
    println!("token endpoint:         {}", info.token_endpoint);
    println!(
        "client authentication:  {}",
        list(&info.token_endpoint_auth_methods_supported)
    );
    println!(
        "client secret:          {}",
        if info.client_secret_required {
            "required (public clients are not accepted)"
        } else {
            "optional"
        }
    );
    println!(
        "registration:           {}",
        match info.registration {
            RegistrationAvailability::Open => "open (dynamic sign-in works)",
            RegistrationAvailability::Closed =>
                "closed (register an app yourself; login --client-id ...)",
            RegistrationAvailability::Absent =>
                "absent (register an app yourself; login --client-id ...)",
            RegistrationAvailability::Unknown => "advertised, but its answer did not tell",
        }
    );
    println!("scopes:                 {}", list(&info.scopes_supported));
    println!(
        "revocation:             {}",
        if info.revocation_supported {
            "supported"
        } else {
            "not offered"
        }
    );
}

/// "in 59 min" / "3 s ago", from a Unix timestamp.
fn relative(at: u64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let (delta, future) = if at >= now {
        (at - now, true)
    } else {
        (now - at, false)
    };
    let amount = match delta {
        0..=119 => format!("{delta} s"),
        120..=7199 => format!("{} min", delta / 60),
        _ => format!("{} h", delta / 3600),
    };
    if future {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

/// Pretty JSON on stdout.
pub fn json(value: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}
