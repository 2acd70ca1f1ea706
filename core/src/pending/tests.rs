//! Pending sign-ins from a manual flow's code grant: both ways of keeping them,
//! and every check `complete` makes, in order.

use super::*;
use crate::flow::{Flow, ManualConfig, ManualFlow};
use crate::seal::SealKey;
use crate::secret::Secret;

const NOW: u64 = 1_700_000_000;
const REDIRECT: &str = "https://app.example.com/oauth/callback";

/// What a web backend keeps about the sign-in beside the grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Host {
    connection_id: String,
}

fn entropy() -> impl FnMut(&mut [u8]) {
    let mut counter = 0u8;
    move |buf: &mut [u8]| {
        for b in buf {
            counter = counter.wrapping_add(1);
            *b = counter;
        }
    }
}

fn config() -> ManualConfig {
    ManualConfig {
        client_id: "3f1c2b9a-5d4e-4c7b-9a8f-0e1d2c3b4a59".into(),
        client_secret: Some(Secret::new("client-secret-value")),
        authorization_endpoint: "https://auth.example.com/oauth/authorize".into(),
        token_endpoint: "https://auth.example.com/oauth/token".into(),
        scopes: Some("mcp:read mcp:write offline_access".into()),
        redirect_uri: REDIRECT.into(),
        server_url: Some("https://mcp.example.com/mcp".into()),
        auth_method: None,
        issuer: None,
    }
}

/// The grant of a manual flow that has reached its authorization step: the
/// optional metadata lookup finds nothing (every candidate answers 404).
fn grant() -> CodeGrant {
    let mut flow: Flow = ManualFlow::new(config(), &mut entropy()).unwrap().into();
    while let crate::flow::Action::Send(_) = flow.next_action() {
        flow.on_response(HttpResponse::new(404, vec![], ""), NOW)
            .unwrap();
    }
    flow.into_code_grant().unwrap()
}

fn pending(subject: &str) -> PendingSignIn<Host> {
    let host = Host {
        connection_id: "user-42/linear".into(),
    };
    PendingSignIn::new(grant(), host, subject, NOW, DEFAULT_TTL_SECS).unwrap()
}

fn keys(id: &str, byte: u8) -> SealKeys {
    SealKeys::new([SealKey::new(id, &[byte; 32]).unwrap()]).unwrap()
}

fn callback(state: &str) -> String {
    let mut url = Url::parse(REDIRECT).unwrap();
    url.query_pairs_mut()
        .append_pair("code", "the-code")
        .append_pair("state", state);
    url.into()
}

fn code(error: Error) -> &'static str {
    error.code()
}

#[test]
fn a_stored_sign_in_completes_with_its_random_state() {
    let record = pending("user-42");
    let state = record.stored_state().to_owned();
    assert_eq!(state.len(), 22, "128 bits of state");
    assert_eq!(store_key(&state), format!("pending/{state}"));
    let url = record.authorization_url(&state);
    assert!(url
        .query_pairs()
        .any(|(k, v)| k == "state" && v == state.as_str()));
    let json = record.to_json().unwrap();
    assert!(
        !json.contains("\"user-42\""),
        "the subject is kept as a digest"
    );
    let back = PendingSignIn::<Host>::from_json(&json).unwrap();
    assert_eq!(back, record);

    let callback = callback(&state);
    assert_eq!(callback_state(&callback).unwrap(), state);
    let (host, exchange) = back
        .complete(&callback, &state, "user-42", NOW + 1)
        .unwrap();
    assert_eq!(host.connection_id, "user-42/linear");
    let form: std::collections::BTreeMap<_, _> =
        exchange.request().form_pairs().into_iter().collect();
    assert_eq!(form["grant_type"], "authorization_code");
    assert_eq!(form["code"], "the-code");
    assert_eq!(form["redirect_uri"], REDIRECT);
    assert!(form["code_verifier"].len() >= 43);
}

#[test]
fn a_sealed_sign_in_is_its_own_state_and_completes_without_a_record() {
    let keys = keys("k1", 1);
    let state = pending("user-42").seal(&keys, &mut entropy()).unwrap();
    assert!(state.starts_with("s1.k1."));
    assert!(state.len() <= MAX_SEALED_STATE_LEN);
    for hidden in [
        "client-secret-value",
        "mcp.example.com",
        "user-42",
        "offline_access",
    ] {
        assert!(!state.contains(hidden), "{hidden} is sealed");
    }
    let record = PendingSignIn::<Host>::unseal(&state, &keys).unwrap();
    let url = record.authorization_url(&state);
    assert_eq!(
        url.query_pairs().find(|(k, _)| k == "state").unwrap().1,
        state.as_str()
    );
    let (host, exchange) = record
        .complete(&callback(&state), &state, "user-42", NOW + 599)
        .unwrap();
    assert_eq!(host.connection_id, "user-42/linear");
    assert_eq!(
        exchange.request().url.as_str(),
        "https://auth.example.com/oauth/token"
    );
}

#[test]
fn sealed_state_length_is_reported_and_bounded() {
    // A realistic record: URLs of typical length, a UUID client id with a secret.
    let state = pending("user-42")
        .seal(&keys("2025-01", 1), &mut entropy())
        .unwrap();
    println!("sealed state: {} characters", state.len());
    assert!(state.len() < 1400, "{}", state.len());
}

#[test]
fn forged_altered_or_foreign_states_match_nothing() {
    let keys1 = keys("k1", 1);
    let state = pending("user-42").seal(&keys1, &mut entropy()).unwrap();
    let mut altered = state.clone().into_bytes();
    let last = altered.len() - 5;
    altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).unwrap();
    // A value the same keys sealed for another purpose (a store entry).
    let store_value = keys1
        .seal(
            pending("user-42").to_json().unwrap().as_bytes(),
            "pending/x",
            &mut entropy(),
        )
        .unwrap();
    let too_long = format!("{state}{}", "A".repeat(MAX_SEALED_STATE_LEN));
    for forged in [
        altered.as_str(),
        "guessed-state",
        "",
        store_value.as_str(),
        too_long.as_str(),
    ] {
        let error = PendingSignIn::<Host>::unseal(forged, &keys1).unwrap_err();
        assert_eq!(code(error), "state_mismatch", "{forged:.20}");
    }
    let other_key = keys("k1", 2);
    assert_eq!(
        code(PendingSignIn::<Host>::unseal(&state, &other_key).unwrap_err()),
        "state_mismatch"
    );
    assert_eq!(
        code(PendingSignIn::<Host>::from_json("{not json").unwrap_err()),
        "state_mismatch"
    );
}

#[test]
fn checks_run_in_order_expiry_then_subject_then_callback() {
    let record = pending("user-42");
    let state = record.stored_state().to_owned();
    let at_expiry = NOW + DEFAULT_TTL_SECS;
    // (subject, now, callback state, expected code)
    let table = [
        ("user-42", at_expiry, state.as_str(), "sign_in_expired"),
        ("mallory", at_expiry, state.as_str(), "sign_in_expired"),
        ("mallory", NOW, state.as_str(), "subject_mismatch"),
        ("", NOW, state.as_str(), "subject_mismatch"),
        ("user-42", NOW, "another-state", "state_mismatch"),
    ];
    for (subject, now, in_callback, expected) in table {
        let error = record
            .clone()
            .complete(&callback(in_callback), &state, subject, now)
            .unwrap_err();
        assert_eq!(code(error), expected, "{subject} {now} {in_callback}");
    }
    assert!(record
        .clone()
        .complete(&callback(&state), &state, "user-42", at_expiry - 1)
        .is_ok());
}

#[test]
fn a_denied_callback_reports_the_authorization_servers_error() {
    let record = pending("user-42");
    let state = record.stored_state().to_owned();
    let denied = format!("{REDIRECT}?error=access_denied&state={state}");
    let error = record
        .complete(&denied, &state, "user-42", NOW)
        .unwrap_err();
    assert_eq!(code(error), "access_denied");
}

#[test]
fn a_sign_in_needs_a_subject() {
    let error = PendingSignIn::new(
        grant(),
        Host {
            connection_id: "c".into(),
        },
        "",
        NOW,
        60,
    )
    .unwrap_err();
    assert_eq!(code(error), "invalid_config");
}

#[test]
fn records_never_print_their_secrets() {
    let printed = format!("{:?}", pending("user-42"));
    assert!(!printed.contains("client-secret-value"), "{printed}");
    assert!(!printed.contains("user-42\""), "{printed}");
}

#[test]
fn only_a_flow_waiting_for_its_callback_gives_up_its_grant() {
    let mut looking_up_metadata = config();
    looking_up_metadata.issuer = Some("https://auth.example.com".into());
    let flow: Flow = ManualFlow::new(looking_up_metadata, &mut entropy())
        .unwrap()
        .into();
    let flow = flow.into_code_grant().unwrap_err();
    assert!(matches!(flow.next_action(), crate::flow::Action::Send(_)));
}
