//! The JS-facing bindings, exercised as JS would use them, under Node with
//! `globalThis.fetch` replaced by a scripted server (run with
//! `wasm-bindgen-test-runner`; see `scripts/test-wasm.sh`).
#![cfg(target_arch = "wasm32")]

use js_sys::{Array, Function, Object, Promise, Reflect};
use mcp_oauth_wasm::flow::{resume, start_dynamic, start_manual};
use mcp_oauth_wasm::Connection;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::wasm_bindgen_test;

const AS: &str = "https://as.example";
const REDIRECT: &str = "https://app.example/callback.html";

/// Evaluates a JS expression (tests only: builds stubs and option objects).
fn js(expression: &str) -> JsValue {
    Function::new_no_args(&format!("return ({expression});"))
        .call0(&JsValue::NULL)
        .expect("test JS evaluates")
}

fn get(target: &JsValue, name: &str) -> JsValue {
    Reflect::get(target, &name.into()).expect("property")
}

fn string(target: &JsValue, name: &str) -> String {
    get(target, name).as_string().unwrap_or_default()
}

async fn settle(promise: Promise) -> Result<JsValue, JsValue> {
    JsFuture::from(promise).await
}

/// `code` of a rejected promise's error, which must be a real `Error`.
async fn rejection_code(promise: Promise) -> String {
    let error = settle(promise).await.expect_err("the promise rejects");
    assert!(error.is_instance_of::<js_sys::Error>(), "{error:?}");
    assert_eq!(string(&error, "name"), "McpOAuthError");
    string(&error, "code")
}

/// Replaces `fetch` with a server that answers from `answers`, a JS list of
/// `[status, body]` pairs (the last one repeats), after `delay` ms, recording each request in
/// `globalThis.calls` as `{ url, body, authorization }`.
fn script_server(answers: &str, delay: u32) {
    js(&format!(
        "(() => {{
            const answers = {answers};
            globalThis.calls = [];
            globalThis.fetch = async (url, init) => {{
                const body = typeof init.body === 'string' ? init.body
                    : init.body ? new TextDecoder().decode(init.body) : '';
                const authorization = new Headers(init.headers).get('authorization');
                globalThis.calls.push({{ url: String(url), body, authorization }});
                await new Promise(r => setTimeout(r, {delay}));
                const [status, json] = answers.length > 1 ? answers.shift() : answers[0];
                return new Response(JSON.stringify(json), {{
                    status, headers: {{ 'content-type': 'application/json' }} }});
            }};
        }})()"
    ));
}

/// Calls a method of a JS object with no arguments.
fn call(target: &JsValue, method: &str) -> JsValue {
    get(target, method)
        .unchecked_into::<Function>()
        .call0(target)
        .expect("method call")
}

fn calls() -> Array {
    get(&js_sys::global(), "calls").unchecked_into()
}

/// Forgets the requests so far: a manual flow without `issuer` first looks for
/// the server's metadata (which the scripted server does not have).
fn forget_calls() {
    Reflect::set(&js_sys::global(), &"calls".into(), &Array::new()).unwrap();
}

/// Storage backed by `globalThis.saved` (a Map), with async `set`.
fn storage() -> JsValue {
    js("(() => { globalThis.saved = new Map(); return {
        get: k => globalThis.saved.get(k),
        set: async (k, v) => { globalThis.saved.set(k, v); },
        remove: k => { globalThis.saved.delete(k); } }; })()")
}

fn saved(key: &str) -> Option<String> {
    js(&format!("globalThis.saved.get({key:?})")).as_string()
}

fn manual_options(with_storage: bool) -> JsValue {
    let options = js(&format!(
        "({{ clientId: 'app', authorizationUrl: '{AS}/authorize', tokenUrl: '{AS}/token',
            scopes: ['mcp:read'], redirectUri: '{REDIRECT}', serverUrl: 'https://mcp.example/mcp' }})"
    ));
    if with_storage {
        Reflect::set(&options, &"storage".into(), &storage()).unwrap();
    }
    options
}

async fn pending_manual(with_storage: bool) -> mcp_oauth_wasm::PendingFlow {
    let flow = settle(start_manual(manual_options(with_storage)))
        .await
        .expect("startManual resolves");
    // The exported class comes back as a JS object; round-trip it through JSON,
    // which is also what a same-window redirect does.
    let saved = js_sys::JSON::stringify(&flow).unwrap();
    let options = Object::new();
    if with_storage {
        Reflect::set(&options, &"storage".into(), &storage()).unwrap();
    }
    resume(saved.into(), options.into()).expect("resume")
}

fn token_answer(access: &str, refresh: Option<&str>, expires_in: i64) -> String {
    let refresh = refresh.map_or(String::new(), |r| format!(", refresh_token: '{r}'"));
    format!("[200, {{ access_token: '{access}', token_type: 'Bearer', expires_in: {expires_in}{refresh} }}]")
}

/// A saved session whose access token expired a minute ago.
fn expired_session(refresh_token: Option<&str>) -> JsValue {
    session(refresh_token, -60)
}

/// A saved session (access token `old`) expiring `expires_in` seconds from now.
fn session(refresh_token: Option<&str>, expires_in: i64) -> JsValue {
    let now = (js_sys::Date::now() / 1000.0) as i64;
    let refresh = refresh_token.map_or(String::new(), |r| format!(r#","refresh_token":"{r}""#));
    format!(
        r#"{{"grant":{{"server_url":"https://mcp.example/mcp","resource":"https://mcp.example/mcp",
        "issuer":"{AS}","token_endpoint":"{AS}/token",
        "client":{{"issuer":"{AS}","client_id":"app","auth_method":"none"}}}},
        "tokens":{{"access_token":"old","token_type":"Bearer","expires_at":{},"received_at":{}{refresh}}}}}"#,
        now + expires_in,
        now - 3600
    )
    .into()
}

#[wasm_bindgen_test]
async fn bad_options_reject_with_a_coded_js_error() {
    let code = rejection_code(start_dynamic(js(
        "({ serverUrl: 'https://mcp.example/mcp' })",
    )))
    .await;
    assert_eq!(code, "invalid_config");
    let code = rejection_code(start_dynamic(js(
        "({ serverUrl: 'http://mcp.example/mcp', redirectUri: 'https://app/cb', clientName: 'x' })",
    )))
    .await;
    assert_eq!(
        code, "invalid_config",
        "plain http off loopback is refused by core"
    );
    let options = js(&format!(
        "({{ serverUrl: 'https://mcp.example/mcp', redirectUri: '{REDIRECT}', clientName: 'x', storage: {{ get() {{}} }} }})"
    ));
    assert_eq!(
        rejection_code(start_dynamic(options)).await,
        "invalid_config"
    );
}

#[wasm_bindgen_test]
async fn manual_flow_survives_a_json_round_trip_with_its_url_and_state() {
    let flow = settle(start_manual(manual_options(false))).await.unwrap();
    let url = string(&flow, "authorizationUrl");
    let state = string(&flow, "state");
    assert!(url.starts_with(&format!("{AS}/authorize?")), "{url}");
    assert!(url.contains("code_challenge_method=S256") && url.contains(&format!("state={state}")));
    assert!(
        state.len() >= 22,
        "at least 128 random bits, base64url: {state}"
    );

    let resumed = resume(
        js_sys::JSON::stringify(&flow).unwrap().into(),
        JsValue::UNDEFINED,
    )
    .unwrap();
    assert_eq!(resumed.authorization_url(), url);
    assert_eq!(resumed.state().as_deref(), Some(state.as_str()));
    assert_eq!(resumed.redirect_uri(), REDIRECT);

    let other = settle(start_manual(manual_options(false))).await.unwrap();
    assert_ne!(
        string(&other, "state"),
        state,
        "each flow draws its own state"
    );
}

#[wasm_bindgen_test]
async fn a_wrong_state_is_rejected_and_the_flow_keeps_waiting() {
    script_server(
        &format!("[{}]", token_answer("at-1", Some("rt-1"), 3600)),
        0,
    );
    let flow = pending_manual(false).await;
    forget_calls();
    let state = flow.state().unwrap();
    let code = rejection_code(flow.complete(format!("{REDIRECT}?code=c&state=forged"))).await;
    assert_eq!(code, "state_mismatch");
    assert_eq!(
        calls().length(),
        0,
        "no code exchange for a forged callback"
    );
    assert_eq!(
        flow.state(),
        Some(state),
        "still waiting for the real callback"
    );
}

#[wasm_bindgen_test]
async fn completing_exchanges_the_code_and_saves_the_connection() {
    script_server(
        &format!("[{}]", token_answer("at-1", Some("rt-1"), 3600)),
        0,
    );
    let flow = pending_manual(true).await;
    forget_calls();
    let state = flow.state().unwrap();
    let connection = settle(flow.complete(format!("{REDIRECT}?code=the-code&state={state}")))
        .await
        .expect("complete resolves");
    let body = string(&calls().get(0), "body");
    assert!(
        body.contains("grant_type=authorization_code") && body.contains("code=the-code"),
        "{body}"
    );
    assert!(body.contains("code_verifier="), "{body}");
    assert_eq!(string(&call(&connection, "status"), "state"), "connected");
    assert_eq!(string(&connection, "serverUrl"), "https://mcp.example/mcp");
    let token = settle(call(&connection, "accessToken").unchecked_into())
        .await
        .unwrap();
    assert_eq!(token.as_string().unwrap(), "at-1");
    let stored = saved("https://mcp.example/mcp").expect("saved under the server URL");
    assert!(stored.contains("rt-1"), "{stored}");
    assert!(flow.state().is_none(), "the flow is no longer waiting");
}

#[wasm_bindgen_test]
async fn concurrent_callers_share_one_refresh_and_the_result_is_saved() {
    script_server(
        &format!("[{}]", token_answer("at-2", Some("rt-2"), 3600)),
        30,
    );
    let options = Object::new();
    Reflect::set(&options, &"storage".into(), &storage()).unwrap();
    let connection = Connection::from_json(expired_session(Some("rt-1")), options.into()).unwrap();
    let first = connection.access_token();
    let second = connection.access_token();
    let (a, b) = (settle(first).await.unwrap(), settle(second).await.unwrap());
    assert_eq!(
        (
            a.as_string().unwrap().as_str(),
            b.as_string().unwrap().as_str()
        ),
        ("at-2", "at-2")
    );
    assert_eq!(calls().length(), 1, "one refresh request for two callers");
    let body = string(&calls().get(0), "body");
    assert!(
        body.contains("grant_type=refresh_token") && body.contains("refresh_token=rt-1"),
        "{body}"
    );
    assert!(saved("https://mcp.example/mcp").unwrap().contains("rt-2"));
    assert_eq!(string(&connection.status(), "state"), "connected");
}

#[wasm_bindgen_test]
async fn an_expired_token_without_refresh_token_is_reauth_required() {
    script_server(&format!("[{}]", token_answer("never", None, 3600)), 0);
    let connection = Connection::from_json(expired_session(None), JsValue::UNDEFINED).unwrap();
    assert_eq!(
        rejection_code(connection.access_token()).await,
        "reauth_required"
    );
    assert_eq!(string(&connection.status(), "state"), "reauth_required");
    assert_eq!(calls().length(), 0);
}

#[wasm_bindgen_test]
async fn a_rejected_refresh_is_reauth_required_naming_the_connection_and_stops_refreshing() {
    script_server("[[400, { error: 'invalid_grant' }]]", 0);
    let connection =
        Connection::from_json(expired_session(Some("rt-1")), JsValue::UNDEFINED).unwrap();
    let error = settle(connection.access_token())
        .await
        .expect_err("rejected");
    assert_eq!(string(&error, "code"), "reauth_required");
    assert_eq!(string(&error, "connectionId"), "https://mcp.example/mcp");
    assert!(string(&error, "message").contains("invalid_grant"));
    assert_eq!(string(&connection.status(), "state"), "reauth_required");
    assert_eq!(
        rejection_code(connection.access_token()).await,
        "reauth_required"
    );
    assert_eq!(
        calls().length(),
        1,
        "a rejected refresh token is not tried again"
    );
}

#[wasm_bindgen_test]
async fn an_unreachable_token_endpoint_is_a_network_error_and_may_be_retried() {
    js("globalThis.fetch = async () => { throw new TypeError('Failed to fetch'); }");
    let connection =
        Connection::from_json(expired_session(Some("rt-1")), JsValue::UNDEFINED).unwrap();
    assert_eq!(
        rejection_code(connection.access_token()).await,
        "network_error"
    );
    assert_eq!(string(&connection.status(), "state"), "expired");
    script_server(&format!("[{}]", token_answer("at-2", None, 3600)), 0);
    assert_eq!(
        settle(connection.access_token())
            .await
            .unwrap()
            .as_string()
            .unwrap(),
        "at-2"
    );
}

#[wasm_bindgen_test]
async fn a_401_from_the_resource_refreshes_once_and_retries_with_the_new_token() {
    // First the MCP server says 401, then the token endpoint refreshes, then the
    // MCP server accepts.
    script_server(
        &format!(
            "[[401, {{}}], {}, [200, {{ ok: true }}]]",
            token_answer("at-2", Some("rt-2"), 3600)
        ),
        0,
    );
    let connection =
        Connection::from_json(session(Some("rt-1"), 3600), JsValue::UNDEFINED).unwrap();
    let response = settle(connection.fetch(
        "https://mcp.example/mcp".into(),
        js("({ method: 'POST', body: '{}' })"),
    ))
    .await
    .unwrap();
    assert_eq!(get(&response, "status").as_f64(), Some(200.0));
    let calls = calls();
    assert_eq!(calls.length(), 3);
    assert_eq!(string(&calls.get(0), "authorization"), "Bearer old");
    assert!(string(&calls.get(1), "body").contains("grant_type=refresh_token"));
    assert_eq!(string(&calls.get(2), "authorization"), "Bearer at-2");
}

/// Storage carrying `sealKeys`, backed by `globalThis.saved`.
fn sealed_storage(keys: &str) -> JsValue {
    let storage = storage();
    Reflect::set(&storage, &"sealKeys".into(), &js(keys)).unwrap();
    storage
}

#[wasm_bindgen_test]
async fn storage_with_seal_keys_keeps_only_sealed_values_and_refuses_foreign_ones() {
    script_server(
        &format!("[{}]", token_answer("at-sealed", Some("rt-sealed"), 3600)),
        0,
    );
    let keys = "[{ id: 'k1', key: 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8' }]";
    let options = Object::new();
    Reflect::set(&options, &"storage".into(), &sealed_storage(keys)).unwrap();
    let connection = Connection::from_json(expired_session(Some("rt-1")), options.into()).unwrap();
    let token = settle(connection.access_token()).await.expect("refreshed");
    assert_eq!(token.as_string().as_deref(), Some("at-sealed"));
    let at_rest = saved("https://mcp.example/mcp").expect("saved");
    assert!(at_rest.starts_with("s1.k1."), "{at_rest}");
    assert!(!at_rest.contains("rt-sealed") && !at_rest.contains("at-sealed"));

    // The same keys read it back; a plaintext value or other keys are refused.
    let with_keys = |keys: &str| {
        js(&format!(
            "({{ get: k => globalThis.saved.get(k), set: () => {{}}, remove: () => {{}}, sealKeys: {keys} }})"
        ))
    };
    let again = settle(mcp_oauth_wasm::flow::load_connection(
        "https://mcp.example/mcp".into(),
        with_keys(keys),
        None,
    ))
    .await
    .expect("opens with the same keys");
    let token = settle(call(&again, "accessToken").unchecked_into())
        .await
        .expect("a token");
    assert_eq!(token.as_string().as_deref(), Some("at-sealed"));
    js("globalThis.saved.set('https://other.example/mcp', JSON.stringify({ planted: true }))");
    let code = rejection_code(mcp_oauth_wasm::flow::load_connection(
        "https://other.example/mcp".into(),
        with_keys(keys),
        None,
    ))
    .await;
    assert_eq!(code, "store_error");
    let other = "[{ id: 'k1', key: 'BBECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8' }]";
    let code = rejection_code(mcp_oauth_wasm::flow::load_connection(
        "https://mcp.example/mcp".into(),
        with_keys(other),
        None,
    ))
    .await;
    assert_eq!(code, "store_error");
    let code = rejection_code(mcp_oauth_wasm::flow::load_connection(
        "https://mcp.example/mcp".into(),
        with_keys("[{ id: 'k1', key: 'short' }]"),
        None,
    ))
    .await;
    assert_eq!(code, "invalid_seal_key");
}
