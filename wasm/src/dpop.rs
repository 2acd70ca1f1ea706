//! DPoP keys in the browser (RFC 9449): a non-extractable WebCrypto P-256 key pair
//! per sign-in. The private key never leaves WebCrypto: core builds each proof's
//! signing input, `crypto.subtle.sign` signs it, core assembles the JWT. Every
//! decision (which request gets a proof, nonces, the one retry) is core's.
//!
//! Keys are kept in IndexedDB (database `mcp-oauth`, store `dpop-keys`) by the
//! thumbprint of their public half, which the saved connection holds: a
//! `CryptoKey` survives structured cloning even when it cannot be exported, so a
//! reloaded page or `loadConnection` finds its key again. Where IndexedDB is
//! missing (Node, some workers) keys live in memory for the life of the page.
//! Without WebCrypto (a page that is not a secure context) a sign-in goes
//! without DPoP and gets bearer tokens.

use crate::connection::deferred;
use crate::error::Failure;
use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use mcp_oauth_core::dpop::{DpopError, DpopKey, PublicJwk, UnsignedProof};
use std::cell::RefCell;
use std::collections::HashMap;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// The error code of a key that is gone (another browser profile, cleared site
/// data): only a new sign-in helps.
const KEY_UNAVAILABLE: &str = "dpop_key_unavailable";
const DATABASE: &str = "mcp-oauth";
const STORE: &str = "dpop-keys";

thread_local! {
    /// Private keys by thumbprint, for this page's life.
    static KEYS: RefCell<HashMap<String, JsValue>> = RefCell::new(HashMap::new());
}

/// A fresh key for a sign-in, or `None` where WebCrypto is unavailable.
pub(crate) async fn generate() -> Result<Option<DpopKey>, Failure> {
    let Some(subtle) = subtle() else {
        return Ok(None);
    };
    let failed = |e: JsValue| Failure::from_js("dpop_key_unavailable", "crypto.subtle", &e);
    let algorithm = object(&[("name", "ECDSA".into()), ("namedCurve", "P-256".into())]);
    let usages: Array = ["sign", "verify"]
        .iter()
        .map(|u| JsValue::from(*u))
        .collect();
    // Not extractable: script can sign with the private key, never read it.
    let pair = call(
        &subtle,
        "generateKey",
        &[algorithm.into(), false.into(), usages.into()],
    )
    .await
    .map_err(failed)?;
    let public = Reflect::get(&pair, &"publicKey".into()).map_err(failed)?;
    let private = Reflect::get(&pair, &"privateKey".into()).map_err(failed)?;
    // The public half of a pair is always exportable.
    let jwk = call(&subtle, "exportKey", &["jwk".into(), public])
        .await
        .map_err(failed)?;
    let field = |name: &str| {
        Reflect::get(&jwk, &name.into())
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default()
    };
    let key = DpopKey::external(PublicJwk {
        kty: field("kty"),
        crv: field("crv"),
        x: field("x"),
        y: field("y"),
    })
    .map_err(mcp_oauth_core::Error::from)?;
    let id = key.public_jwk.thumbprint();
    KEYS.with(|keys| keys.borrow_mut().insert(id.clone(), private.clone()));
    if let Err(error) = idb_put(&id, &private).await {
        // The key still works for this page; only a reload would lose it.
        web_log(&format!(
            "mcp-oauth: the DPoP key is not saved in IndexedDB: {error:?}"
        ));
    }
    Ok(Some(key))
}

/// The proof JWT: `proof` signed with the private key of `key`.
pub(crate) async fn sign(key: &DpopKey, proof: UnsignedProof) -> Result<String, Failure> {
    // The browser signs with WebCrypto only: a key whose private half sits in the
    // session (one core made, natively) is not in WebCrypto, so it is reported
    // unavailable like a key whose site data was cleared.
    let private = private_key(key).await?;
    let subtle =
        subtle().ok_or_else(|| Failure::new(KEY_UNAVAILABLE, "WebCrypto is unavailable"))?;
    let algorithm = object(&[("name", "ECDSA".into()), ("hash", "SHA-256".into())]);
    let data = Uint8Array::from(proof.signing_input().as_bytes());
    let signature = call(&subtle, "sign", &[algorithm.into(), private, data.into()])
        .await
        .map_err(|e| Failure::from_js(KEY_UNAVAILABLE, "crypto.subtle.sign", &e))?;
    // WebCrypto's ECDSA signature is already JWS's r || s.
    let signature = Uint8Array::new(&signature).to_vec();
    Ok(proof
        .assemble(&signature)
        .map_err(mcp_oauth_core::Error::from)?)
}

/// Forgets the private key of `key` (on disconnect).
pub(crate) async fn forget(key: &DpopKey) {
    let id = key.public_jwk.thumbprint();
    KEYS.with(|keys| keys.borrow_mut().remove(&id));
    if let Err(error) = idb_delete(&id).await {
        web_log(&format!(
            "mcp-oauth: could not delete a DPoP key: {error:?}"
        ));
    }
}

async fn private_key(key: &DpopKey) -> Result<JsValue, Failure> {
    let id = key.public_jwk.thumbprint();
    if let Some(private) = KEYS.with(|keys| keys.borrow().get(&id).cloned()) {
        return Ok(private);
    }
    let stored = idb_get(&id)
        .await
        .map_err(|e| Failure::from_js(KEY_UNAVAILABLE, "reading the DPoP key", &e))?;
    match stored {
        Some(private) => {
            KEYS.with(|keys| keys.borrow_mut().insert(id, private.clone()));
            Ok(private)
        }
        None => Err(mcp_oauth_core::Error::from(DpopError::KeyNotHeld).into()),
    }
}

fn subtle() -> Option<JsValue> {
    let crypto = Reflect::get(&js_sys::global(), &"crypto".into()).ok()?;
    let subtle = Reflect::get(&crypto, &"subtle".into()).ok()?;
    (!subtle.is_undefined() && !subtle.is_null()).then_some(subtle)
}

/// `target[method](...args)`, awaited.
async fn call(target: &JsValue, method: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
    let function: Function = Reflect::get(target, &method.into())?.dyn_into()?;
    let args: Array = args.iter().collect();
    let promise: Promise = function.apply(target, &args)?.dyn_into()?;
    JsFuture::from(promise).await
}

fn object(fields: &[(&str, JsValue)]) -> Object {
    let object = Object::new();
    for (name, value) in fields {
        // Setting a property on a fresh plain object cannot fail.
        let _ = Reflect::set(&object, &(*name).into(), value);
    }
    object
}

fn web_log(message: &str) {
    if let Ok(console) = Reflect::get(&js_sys::global(), &"console".into()) {
        if let Ok(warn) = Reflect::get(&console, &"warn".into()) {
            if let Ok(warn) = warn.dyn_into::<Function>() {
                let _ = warn.call1(&console, &message.into());
            }
        }
    }
}

/// The key database, or `None` where there is no IndexedDB.
async fn database() -> Result<Option<JsValue>, JsValue> {
    let factory = Reflect::get(&js_sys::global(), &"indexedDB".into())?;
    if factory.is_undefined() || factory.is_null() {
        return Ok(None);
    }
    let open: Function = Reflect::get(&factory, &"open".into())?.dyn_into()?;
    let request = open.call2(&factory, &DATABASE.into(), &1.into())?;
    let upgrade_target = request.clone();
    let on_upgrade = Closure::once(move || {
        if let Ok(db) = Reflect::get(&upgrade_target, &"result".into()) {
            if let Ok(create) = Reflect::get(&db, &"createObjectStore".into()) {
                if let Ok(create) = create.dyn_into::<Function>() {
                    let _ = create.call1(&db, &STORE.into());
                }
            }
        }
    });
    Reflect::set(&request, &"onupgradeneeded".into(), on_upgrade.as_ref())?;
    let db = settled(&request).await;
    Reflect::set(&request, &"onupgradeneeded".into(), &JsValue::NULL)?;
    db.map(Some)
}

/// The object store, in a transaction of `mode`.
async fn store(mode: &str) -> Result<Option<JsValue>, JsValue> {
    let Some(db) = database().await? else {
        return Ok(None);
    };
    let transaction: Function = Reflect::get(&db, &"transaction".into())?.dyn_into()?;
    let tx = transaction.call2(&db, &STORE.into(), &mode.into())?;
    let object_store: Function = Reflect::get(&tx, &"objectStore".into())?.dyn_into()?;
    Ok(Some(object_store.call1(&tx, &STORE.into())?))
}

async fn idb_put(id: &str, key: &JsValue) -> Result<(), JsValue> {
    if let Some(store) = store("readwrite").await? {
        let put: Function = Reflect::get(&store, &"put".into())?.dyn_into()?;
        settled(&put.call2(&store, key, &id.into())?).await?;
    }
    Ok(())
}

async fn idb_get(id: &str) -> Result<Option<JsValue>, JsValue> {
    let Some(store) = store("readonly").await? else {
        return Ok(None);
    };
    let get: Function = Reflect::get(&store, &"get".into())?.dyn_into()?;
    let value = settled(&get.call1(&store, &id.into())?).await?;
    Ok((!value.is_undefined() && !value.is_null()).then_some(value))
}

async fn idb_delete(id: &str) -> Result<(), JsValue> {
    if let Some(store) = store("readwrite").await? {
        let delete: Function = Reflect::get(&store, &"delete".into())?.dyn_into()?;
        settled(&delete.call1(&store, &id.into())?).await?;
    }
    Ok(())
}

/// The `result` of an IndexedDB request once it succeeds, or its `error`.
async fn settled(request: &JsValue) -> Result<JsValue, JsValue> {
    let (promise, resolve, reject) = deferred();
    let (ok_target, err_target) = (request.clone(), request.clone());
    let on_success = Closure::once(move || {
        let result = Reflect::get(&ok_target, &"result".into()).unwrap_or(JsValue::UNDEFINED);
        let _ = resolve.call1(&JsValue::NULL, &result);
    });
    let on_error = Closure::once(move || {
        let error = Reflect::get(&err_target, &"error".into()).unwrap_or(JsValue::UNDEFINED);
        let _ = reject.call1(&JsValue::NULL, &error);
    });
    Reflect::set(request, &"onsuccess".into(), on_success.as_ref())?;
    Reflect::set(request, &"onerror".into(), on_error.as_ref())?;
    let outcome = JsFuture::from(promise).await;
    // The closures are freed below; nothing may call them afterwards.
    Reflect::set(request, &"onsuccess".into(), &JsValue::NULL)?;
    Reflect::set(request, &"onerror".into(), &JsValue::NULL)?;
    outcome
}
