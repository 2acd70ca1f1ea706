//! Hostile servers, pages and local processes against the native client (and so
//! the Node addon, which runs it), over real loopback HTTP. Each case is one
//! attack of issue 10; each asserts the clear error and what never left the
//! client. `bash scripts/test-hostile.sh` runs this with the Node and browser
//! cases and prints the tally.

mod support;

use mcp_oauth::core::registration::PreRegisteredClient;
use mcp_oauth::core::Secret;
use mcp_oauth::store::FileStore;
use mcp_oauth::{OAuthClient, Preset};
use std::sync::Arc;
use support::{assert_clean, client, run, Authorize, Hostile, Resource, Script};

/// Signs in to a hostile server that plays along, to get a connection whose
/// token the other cases try to exfiltrate.
async fn connected(hostile: &Hostile) -> mcp_oauth::Connection {
    client()
        .build()
        .unwrap()
        .connect(Preset::dynamic(hostile.mcp_url()))
        .await
        .expect("sign-in")
}

fn request(url: &str) -> reqwest::Request {
    reqwest::Client::new().post(url).body("{}").build().unwrap()
}

#[test]
fn the_token_never_goes_to_another_origin_or_a_plain_http_alias() {
    run(async {
        let resource = Hostile::start(Script::default()).await;
        let other = Hostile::start(Script::default()).await;
        let connection = connected(&resource).await;
        let port = resource.port();
        for url in [
            format!("{}/steal", other.origin),
            format!("http://0.0.0.0:{port}/mcp"),
            format!("http://[::ffff:127.0.0.1]:{port}/mcp"),
            format!("http://localhost:{port}/mcp"),
        ] {
            let error = connection.send(request(&url)).await.expect_err(&url);
            assert_eq!(error.code(), "origin_not_allowed", "{url}: {error}");
        }
        assert!(other.seen().is_empty(), "the other origin was contacted");
        let leaked: Vec<_> = resource
            .seen()
            .into_iter()
            .filter(|s| s.authorization.is_some() && s.path != "/mcp")
            .collect();
        assert!(leaked.is_empty(), "{leaked:?}");
        // The resource itself still gets it.
        let ok = connection.send(request(&resource.mcp_url())).await.unwrap();
        assert_eq!(ok.status(), 200);
    });
}

#[test]
fn an_issuerless_secret_is_never_sent_to_the_authorization_server_a_server_names() {
    run(async {
        let hostile = Hostile::start(Script::default()).await;
        let error = client()
            .pre_registered(PreRegisteredClient {
                issuer: None,
                client_id: "my-app".into(),
                client_secret: Some(Secret::new("top-secret")),
                auth_method: None,
                private_key: None,
            })
            .build()
            .unwrap()
            .connect(Preset::dynamic(hostile.mcp_url()))
            .await
            .expect_err("refused");
        assert_eq!(error.code(), "client_issuer_required", "{error}");
        assert!(error.to_string().contains("issuer"), "{error}");
        let leaked: Vec<_> = hostile
            .seen()
            .into_iter()
            .filter(|s| s.body.contains("top-secret") || s.query.contains("my-app"))
            .collect();
        assert!(leaked.is_empty(), "{leaked:?}");
    });
}

#[test]
fn a_forged_callback_with_repeated_parameters_does_not_end_the_sign_in() {
    run(async {
        for forged in [
            "code=a&code=b",
            "error=access_denied&error=x",
            "code=a&code=b&state=guess",
        ] {
            let hostile = Hostile::start(Script {
                authorize: Authorize::ForgeFirst(forged.into()),
                ..Script::default()
            })
            .await;
            let connection = client()
                .build()
                .unwrap()
                .connect(Preset::dynamic(hostile.mcp_url()))
                .await;
            assert!(connection.is_ok(), "{forged}: {:?}", connection.err());
        }
    });
}

#[test]
fn callback_error_text_reaches_the_user_cleaned_and_bounded() {
    run(async {
        let description = format!("%1B%5B2J%1B%5D0%3Bpwned%07{}", "A".repeat(20_000));
        let hostile = Hostile::start(Script {
            authorize: Authorize::Raw(format!(
                "error=access_denied%1B%5B31m&error_description={description}"
            )),
            ..Script::default()
        })
        .await;
        let error = client()
            .build()
            .unwrap()
            .connect(Preset::dynamic(hostile.mcp_url()))
            .await
            .expect_err("denied");
        assert_clean(&error.to_string());
    });
}

#[test]
fn a_mismatched_iss_is_shown_cleaned_and_bounded() {
    run(async {
        let iss = format!("https://evil.example/%1B%5B2J{}", "x".repeat(20_000));
        let hostile = Hostile::start(Script {
            iss_supported: true,
            authorize: Authorize::Raw(format!("code=c&iss={iss}")),
            ..Script::default()
        })
        .await;
        let error = client()
            .build()
            .unwrap()
            .connect(Preset::dynamic(hostile.mcp_url()))
            .await
            .expect_err("mix-up refused");
        assert_eq!(error.code(), "issuer_mismatch");
        assert_clean(&error.to_string());
        assert!(
            hostile.hits("/as/token").is_empty(),
            "the code went to the token endpoint"
        );
    });
}

#[test]
fn a_mismatched_resource_is_shown_cleaned_and_bounded() {
    run(async {
        let hostile = Hostile::start(Script {
            prm_resource: Some(format!(
                "https://elsewhere.example/\u{1b}]0;pwned\u{7}{}",
                "y".repeat(20_000)
            )),
            ..Script::default()
        })
        .await;
        let error = client()
            .build()
            .unwrap()
            .connect(Preset::dynamic(hostile.mcp_url()))
            .await
            .expect_err("mismatch refused");
        assert_eq!(error.code(), "resource_mismatch");
        assert_clean(&error.to_string());
    });
}

#[test]
fn a_resource_that_always_wants_the_scope_already_asked_for_gets_one_sign_in() {
    run(async {
        let hostile = Hostile::start(Script {
            resource: Resource::Forbidden("admin".into()),
            ..Script::default()
        })
        .await;
        let oauth = client().build().unwrap();
        let connection = oauth
            .connect(Preset::Dynamic(mcp_oauth::DynamicPreset {
                server_url: hostile.mcp_url(),
                scope: Some("admin".into()),
                probe: Default::default(),
                connection_id: None,
            }))
            .await
            .unwrap();
        let error = connection
            .send(request(&hostile.mcp_url()))
            .await
            .expect_err("gives up");
        assert_eq!(error.code(), "insufficient_scope");
        assert_eq!(
            hostile.hits("/as/authorize").len(),
            1,
            "no sign-in can widen a scope already asked for"
        );
    });
}

#[cfg(unix)]
#[test]
fn a_fifo_at_the_token_store_path_is_an_error_not_a_hang() {
    run(async {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("tokens.json");
        assert!(std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        let oauth = OAuthClient::builder("hostile suite")
            .store(Arc::new(FileStore::new(&fifo)))
            .build()
            .unwrap();
        let outcome = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            oauth.connection("https://mcp.example.com/mcp"),
        )
        .await;
        // Unblock a reader stuck on the FIFO (the pre-fix behaviour) so the
        // process can exit; with no reader this open waits, so it gets a
        // thread of its own that dies with the process.
        let writer = fifo.clone();
        std::thread::spawn(move || std::fs::OpenOptions::new().write(true).open(writer));
        let error = outcome
            .expect("answers instead of hanging")
            .expect_err("refused");
        assert_eq!(error.code(), "store_error");
        assert!(error.to_string().contains("not a regular file"), "{error}");
    });
}

#[cfg(unix)]
#[test]
fn a_token_file_readable_by_others_is_made_private() {
    use std::os::unix::fs::PermissionsExt;
    run(async {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        std::fs::write(&path, br#"{"version":1,"entries":{}}"#).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let oauth = OAuthClient::builder("hostile suite")
            .file_store(&path)
            .build()
            .unwrap();
        assert!(oauth.connection("x").await.unwrap().is_none());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    });
}
