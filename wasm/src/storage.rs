//! The host's storage callbacks (`{ get, set, delete }`, the names of the Node
//! package's store; `remove` is accepted for `delete`), each of which may answer
//! directly or with a promise. Connections are saved as JSON under their server
//! URL; what "saved" means (localStorage, IndexedDB, a backend) is the host's call.

use crate::error::{Failure, STORE_ERROR};
use js_sys::{Array, Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// A host object with `get(key)`, `set(key, value)` and `delete(key)` (or
/// `remove(key)`).
#[derive(Debug, Clone)]
pub(crate) struct Storage {
    object: JsValue,
    /// `delete`, or `remove` when the object has no `delete`.
    delete: &'static str,
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
        Ok(Some(Storage {
            object: value,
            delete,
        }))
    }

    /// The value under `key`, if any.
    pub(crate) async fn get(&self, key: &str) -> Result<Option<String>, Failure> {
        let value = self.call("get", &[key.into()]).await?;
        if value.is_undefined() || value.is_null() {
            return Ok(None);
        }
        value
            .as_string()
            .map(Some)
            .ok_or_else(|| Failure::new(STORE_ERROR, "storage.get must return a string or null"))
    }

    /// Saves `value` under `key`.
    pub(crate) async fn set(&self, key: &str, value: &str) -> Result<(), Failure> {
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
        let function: Function = Reflect::get(&self.object, &method.into())
            .map_err(failed)?
            .dyn_into()
            .map_err(failed)?;
        let args: Array = args.iter().collect();
        let answer = function.apply(&self.object, &args).map_err(failed)?;
        JsFuture::from(Promise::resolve(&answer))
            .await
            .map_err(failed)
    }
}
