//! Hostile inputs against the options issue 10 added for server-side hosts: a
//! web backend that signs users in to server URLs they typed must not become a
//! way into its own network (blind SSRF), whether the URL names a private
//! address or a host name that resolves to one.

mod support;

use mcp_oauth::core::http::{HttpRequest, Purpose};
use mcp_oauth::core::network::NetworkPolicy;
use mcp_oauth::executor::{ExecutorConfig, HttpExecutor};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::SocketAddr;
use std::sync::Arc;
use support::{client, run, Hostile, Script};

/// A DNS that answers every name with the hostile server's loopback address, as
/// an attacker's domain pointing at `127.0.0.1` (or `10.0.0.1`) would.
struct PointsInside;

impl Resolve for PointsInside {
    fn resolve(&self, _name: Name) -> Resolving {
        Box::pin(async {
            let addrs: Addrs = Box::new(vec![SocketAddr::from(([127, 0, 0, 1], 0))].into_iter());
            Ok(addrs)
        })
    }
}

#[test]
fn public_only_refuses_names_that_resolve_inside_the_network() {
    run(async {
        let hostile = Hostile::start(Script::default()).await;
        let executor = HttpExecutor::new(ExecutorConfig {
            network: NetworkPolicy::PublicOnly,
            resolver: Some(Arc::new(PointsInside)),
            ..ExecutorConfig::default()
        })
        .unwrap();
        let url = format!("https://internal.hostile.test:{}/admin", hostile.port());
        let error = executor
            .execute(HttpRequest::get(
                url.parse().unwrap(),
                Purpose::ResourceMetadata,
            ))
            .await
            .expect_err("refused");
        assert_eq!(
            mcp_oauth::Error::from(error.clone()).code(),
            "endpoint_not_allowed",
            "{error}"
        );
        assert!(hostile.seen().is_empty());
    });
}

#[test]
fn public_only_refuses_a_loopback_or_private_server_url_before_any_request() {
    run(async {
        let hostile = Hostile::start(Script::default()).await;
        let oauth = client()
            .network_policy(NetworkPolicy::PublicOnly)
            .build()
            .unwrap();
        for server in [
            hostile.mcp_url(),
            format!("https://127.0.0.1:{}/mcp", hostile.port()),
            "https://169.254.169.254/latest/meta-data".to_owned(),
            "https://[::ffff:10.0.0.1]/mcp".to_owned(),
        ] {
            let error = oauth
                .connect(mcp_oauth::Preset::dynamic(&server))
                .await
                .expect_err(&server);
            assert_eq!(error.code(), "endpoint_not_allowed", "{server}: {error}");
        }
        assert!(hostile.seen().is_empty());
    });
}

#[test]
fn the_token_goes_to_an_explicitly_allowed_origin_only() {
    run(async {
        let resource = Hostile::start(Script::default()).await;
        let mirror = Hostile::start(Script::default()).await;
        let stranger = Hostile::start(Script::default()).await;
        let connection = client()
            .allow_token_origin(&mirror.origin)
            .build()
            .unwrap()
            .connect(mcp_oauth::Preset::dynamic(resource.mcp_url()))
            .await
            .unwrap();
        let post = |url: String| reqwest::Client::new().post(url).body("{}").build().unwrap();
        let ok = connection.send(post(mirror.mcp_url())).await.unwrap();
        assert_eq!(ok.status(), 200);
        let error = connection.send(post(stranger.mcp_url())).await.unwrap_err();
        assert_eq!(error.code(), "origin_not_allowed");
        assert!(stranger.seen().is_empty());
        assert!(OAuthClientBuilderRefusesPlainHttp::check());
    });
}

/// An allow-list entry that would send the token over plain http to a remote
/// host is a setup error, not a silent leak later.
struct OAuthClientBuilderRefusesPlainHttp;

impl OAuthClientBuilderRefusesPlainHttp {
    fn check() -> bool {
        client()
            .allow_token_origin("http://files.example.com")
            .build()
            .is_err_and(|e| e.code() == "origin_not_allowed")
    }
}
