//! The host's storage callbacks (`{ get, set, delete }`, the names of the Node
//! package's store; `remove` is accepted for `delete`), each of which may answer
//! directly or with a promise. Connections are saved as JSON under their server
//! URL; what "saved" means (localStorage, IndexedDB, a backend) is the host's call.
//!
//! A storage object may carry `sealKeys: [{ id, key }]`: every value is then
//! sealed ([`mcp_oauth_core::seal`], bound to its key) before `set`, and opened
//! after `get`, so what the host keeps is unreadable without the keys. A value
//! that does not open is a `store_error`, never trusted.

use crate::error::{Failure, STORE_ERROR};
use js_sys::{Array, Function, Promise, Reflect};
use mcp_oauth_core::entropy::OsEntropy;
use mcp_oauth_core::seal::{SealKey, SealKeys};
use serde::Deserialize;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// A host object with `get(key)`, `set(key, value)` and `delete(key)` (or
/// `remove(key)`), and the keys its values are sealed with, if it named any.
#[derive(Debug, Clone)]
pub(crate) struct Storage {
    target: JsValue,
    /// `delete`, or `remove` when the object has no `delete`.
    delete: &'static str,
    keys: Option<SealKeys>,
}

/// One entry of `sealKeys`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SealKeyOption {
    id: String,
    key: String,
}

/// The `sealKeys` of a storage object, if present.
fn seal_keys(storage: &JsValue) -> Result<Option<SealKeys>, Failure> {
    let value = Reflect::get(storage, &"sealKeys".into()).unwrap_or(JsValue::UNDEFINED);
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    let json = js_sys::JSON::stringify(&value)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default();
    // From bytes, like every other JSON this package reads: `from_str` would add
    // serde_json's string reader to the .wasm (0.5 kB gzipped).
    let options: Vec<SealKeyOption> = serde_json::from_slice(json.as_bytes()).map_err(|e| {
        Failure::config(format!(
            "storage.sealKeys must be a list of {{ id, key }}: {e}"
        ))
    })?;
    let keys = options
        .into_iter()
        .map(|k| SealKey::from_base64(k.id, &k.key))
        .collect::<Result<Vec<_>, _>>()
        .and_then(SealKeys::new)
        .map_err(|e| Failure::from(mcp_oauth_core::Error::from(e)))?;
    Ok(Some(keys))
}

impl Storage {
    /// The `storage` property of an options object, if it is set. A value without
    /// the three methods is a configuration error, reported now rather than at the
    /// first save.
    pub(crate) fn from_options(options: &JsValue) -> Result<Option<Storage>, Failure> {
        if !options.is_object() {
            return Ok(None);
        }
        let value = Reflect::get(options, &"storage".into()).unwrap_or(JsValue::UNDEFINED);
        Storage::from_value(value)
    }

    /// `value` as storage, when it is neither `undefined` nor `null`.
    pub(crate) fn from_value(value: JsValue) -> Result<Option<Storage>, Failure> {
        if value.is_undefined() || value.is_null() {
            return Ok(None);
        }
        let has = |method: &str| {
            Reflect::get(&value, &method.into())
                .unwrap_or(JsValue::UNDEFINED)
                .is_function()
        };
        for method in ["get", "set"] {
            if !has(method) {
                return Err(Failure::config(format!(
                    "storage must have get, set and delete methods; {method} is missing"
                )));
            }
        }
        let delete = match (has("delete"), has("remove")) {
            (true, _) => "delete",
            (false, true) => "remove",
            (false, false) => {
                return Err(Failure::config(
                    "storage must have get, set and delete methods; delete is missing",
                ))
            }
        };
        let keys = seal_keys(&value)?;
        Ok(Some(Storage {
            target: value,
            delete,
            keys,
        }))
    }

    /// The value under `key`, if any.
    pub(crate) async fn get(&self, key: &str) -> Result<Option<String>, Failure> {
        let value = self.call("get", &[key.into()]).await?;
        if value.is_undefined() || value.is_null() {
            return Ok(None);
        }
        let value = value
            .as_string()
            .ok_or_else(|| Failure::new(STORE_ERROR, "storage.get must return a string or null"))?;
        let Some(keys) = &self.keys else {
            return Ok(Some(value));
        };
        let plain = keys.open(&value, key).map_err(|e| {
            Failure::new(
                STORE_ERROR,
                format!("the value saved under {key} does not open with storage.sealKeys: {e}"),
            )
        })?;
        String::from_utf8(plain.to_vec())
            .map(Some)
            .map_err(|_| Failure::new(STORE_ERROR, format!("the value under {key} is not text")))
    }

    /// Saves `value` under `key`, sealed when the storage has keys.
    pub(crate) async fn set(&self, key: &str, value: &str) -> Result<(), Failure> {
        let value = match &self.keys {
            Some(keys) => keys
                .seal(value.as_bytes(), key, &mut OsEntropy)
                .map_err(|e| Failure::from(mcp_oauth_core::Error::from(e)))?,
            None => value.to_owned(),
        };
        self.call("set", &[key.into(), value.into()])
            .await
            .map(drop)
    }

    /// Forgets `key`.
    pub(crate) async fn remove(&self, key: &str) -> Result<(), Failure> {
        self.call(self.delete, &[key.into()]).await.map(drop)
    }

    async fn call(&self, method: &str, args: &[JsValue]) -> Result<JsValue, Failure> {
        let failed =
            |e: JsValue| Failure::from_js(STORE_ERROR, &format!("storage.{method} failed"), &e);
        let function: Function = Reflect::get(&self.target, &method.into())
            .map_err(failed)?
            .dyn_into()
            .map_err(failed)?;
        let args: Array = args.iter().collect();
        let answer = function.apply(&self.target, &args).map_err(failed)?;
        JsFuture::from(Promise::resolve(&answer))
            .await
            .map_err(failed)
    }
}
