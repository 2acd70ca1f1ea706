//! The discovery documents: RFC 8414 authorization-server metadata and RFC 9728
//! protected-resource metadata, at the URLs and with the fields the knobs say.

mod common;

use common::{get, start};
use mcp_oauth_core::client_auth::AuthMethod;
use mcp_oauth_tests::server::{PrmWellKnown, Registration};
use mcp_oauth_tests::TestServerConfig;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn authorization_server_metadata_describes_the_default_server() {
    let server = start(TestServerConfig::default()).await;
    let issuer = server.issuer();
    let reply = get(&format!("{issuer}/.well-known/oauth-authorization-server")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("cache-control").as_deref(), Some("no-store"));
    assert!(reply
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/json")));
    let doc = &reply.json;
    assert_eq!(doc["issuer"], json!(issuer));
    assert_eq!(
        doc["authorization_endpoint"],
        json!(format!("{issuer}/authorize"))
    );
    assert_eq!(doc["token_endpoint"], json!(format!("{issuer}/token")));
    assert_eq!(
        doc["registration_endpoint"],
        json!(format!("{issuer}/register"))
    );
    assert_eq!(doc["response_types_supported"], json!(["code"]));
    assert_eq!(
        doc["grant_types_supported"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        doc["token_endpoint_auth_methods_supported"],
        json!(["none", "client_secret_basic", "client_secret_post"])
    );
    assert_eq!(
        doc["scopes_supported"],
        json!(["mcp:read", "mcp:write", "mcp:admin"])
    );
    assert_eq!(
        doc["authorization_response_iss_parameter_supported"],
        json!(true)
    );
    assert_eq!(doc["client_id_metadata_document_supported"], json!(true));
    // The core client parses it.
    let parsed: mcp_oauth_core::discovery::AuthorizationServerMetadata =
        serde_json::from_value(doc.clone()).expect("core can read the document");
    assert_eq!(parsed.issuer, issuer);
    server.shutdown().await;
}

#[tokio::test]
async fn issuer_path_is_inserted_after_the_well_known_prefix() {
    let server = start(TestServerConfig {
        issuer_path: "/tenant1".into(),
        ..Default::default()
    })
    .await;
    let origin = server.origin();
    assert_eq!(server.issuer(), format!("{origin}/tenant1"));
    assert_eq!(
        server.authorization_server_metadata_url().as_str(),
        format!("{origin}/.well-known/oauth-authorization-server/tenant1")
    );
    let reply = get(server.authorization_server_metadata_url().as_str()).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json["issuer"], json!(format!("{origin}/tenant1")));
    assert_eq!(
        reply.json["token_endpoint"],
        json!(format!("{origin}/tenant1/token"))
    );
    // RFC 8414 path insertion only: no root or appended document.
    for wrong in [
        format!("{origin}/.well-known/oauth-authorization-server"),
        format!("{origin}/tenant1/.well-known/oauth-authorization-server"),
    ] {
        assert_eq!(get(&wrong).await.status, StatusCode::NOT_FOUND, "{wrong}");
    }
    // The PRM names the path issuer.
    let prm = get(server.protected_resource_metadata_url().as_str()).await;
    assert_eq!(prm.json["authorization_servers"], json!([server.issuer()]));
    server.shutdown().await;
}

#[tokio::test]
async fn knobs_change_the_advertised_metadata() {
    let server = start(TestServerConfig {
        registration: Registration::Absent,
        token_endpoint_auth_methods: vec![AuthMethod::ClientSecretPost],
        iss_parameter: false,
        scopes_supported: vec!["a".into(), "offline_access".into()],
        ..Default::default()
    })
    .await;
    let doc = get(server.authorization_server_metadata_url().as_str())
        .await
        .json;
    assert!(doc.get("registration_endpoint").is_none());
    assert_eq!(
        doc["token_endpoint_auth_methods_supported"],
        json!(["client_secret_post"])
    );
    assert_eq!(
        doc["authorization_response_iss_parameter_supported"],
        json!(false)
    );
    assert_eq!(doc["scopes_supported"], json!(["a", "offline_access"]));
    server.shutdown().await;
}

#[tokio::test]
async fn protected_resource_metadata_is_served_at_both_well_known_urls_and_the_header_url() {
    let server = start(TestServerConfig::default()).await;
    let origin = server.origin();
    for url in [
        format!("{origin}/.well-known/oauth-protected-resource/mcp"),
        format!("{origin}/.well-known/oauth-protected-resource"),
        server.header_protected_resource_metadata_url().to_string(),
    ] {
        let reply = get(&url).await;
        assert_eq!(reply.status, StatusCode::OK, "{url}");
        assert_eq!(reply.json["resource"], json!(server.mcp_url().as_str()));
        assert_eq!(
            reply.json["authorization_servers"],
            json!([server.issuer()])
        );
        assert_eq!(
            reply.json["scopes_supported"],
            json!(["mcp:read", "mcp:write", "mcp:admin"])
        );
        let parsed: mcp_oauth_core::discovery::ProtectedResourceMetadata =
            serde_json::from_value(reply.json.clone()).expect("core can read the document");
        assert_eq!(parsed.resource, format!("{origin}/mcp"));
    }
    server.shutdown().await;
}

#[tokio::test]
async fn protected_resource_metadata_locations_follow_the_knobs() {
    // (well-known knob, header knob) -> (path served, root served, header URL served)
    let table = [
        (PrmWellKnown::Both, true, (true, true, true)),
        (PrmWellKnown::PathOnly, true, (true, false, true)),
        (PrmWellKnown::RootOnly, false, (false, true, false)),
        (PrmWellKnown::Off, true, (false, false, true)),
    ];
    for (well_known, header, (path, root, header_url)) in table {
        let server = start(TestServerConfig {
            prm_well_known: well_known,
            prm_in_header: header,
            ..Default::default()
        })
        .await;
        let origin = server.origin();
        let served = |status: StatusCode| status == StatusCode::OK;
        let got = (
            served(
                get(&format!(
                    "{origin}/.well-known/oauth-protected-resource/mcp"
                ))
                .await
                .status,
            ),
            served(
                get(&format!("{origin}/.well-known/oauth-protected-resource"))
                    .await
                    .status,
            ),
            served(
                get(server.header_protected_resource_metadata_url().as_str())
                    .await
                    .status,
            ),
        );
        assert_eq!(
            got,
            (path, root, header_url),
            "{well_known:?}, header {header}"
        );
        server.shutdown().await;
    }
}

#[tokio::test]
async fn invalid_configurations_are_refused_at_start() {
    for path in ["tenant1", "/tenant1/", "/a b", "/.well-known/x"] {
        let err = mcp_oauth_tests::TestServer::start(TestServerConfig {
            issuer_path: path.into(),
            ..Default::default()
        })
        .await
        .expect_err(path);
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    }
    let err = mcp_oauth_tests::TestServer::start(TestServerConfig {
        token_endpoint_auth_methods: vec![],
        ..Default::default()
    })
    .await
    .expect_err("no auth methods");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}
