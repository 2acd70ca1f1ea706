//! Pending sign-ins: `startDynamic`, `startManual`, `resume`, and the
//! `PendingFlow` they return.
//!
//! Starting a flow runs every step core asks for up to the authorization (the
//! probe, metadata discovery and client registration of the dynamic flow; at most
//! one metadata lookup in the manual one), so `authorizationUrl` is ready when the
//! promise resolves. From then on only core's [`AwaitingCallback`] is kept (and
//! saved by `toJSON()` for a same-window redirect): completing feeds it the
//! callback URL, which it checks (`state`, `iss`), and exchanges the code.

use crate::clock::now;
use crate::connection::{from_json_value, to_json_value, Connection};
use crate::dpop;
use crate::error::{Failure, POPUP_BLOCKED};
use crate::fetch;
use crate::options::{self, DynamicOptions, ManualOptions};
use crate::popup;
use crate::progress::Progress;
use crate::storage::Storage;
use js_sys::Promise;
use mcp_oauth_core::entropy::OsEntropy;
use mcp_oauth_core::flow::{Action, AwaitingCallback, DynamicFlow, Flow, ManualFlow};
use mcp_oauth_core::http::{HttpRequest, HttpResponse};
use mcp_oauth_core::pending::CodeExchange;
use mcp_oauth_core::progress::ProgressEvent;
use mcp_oauth_core::session::Session;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::future_to_promise;

/// A sign-in waiting for the user at `authorizationUrl`.
#[wasm_bindgen]
pub struct PendingFlow {
    sign_in: Rc<RefCell<AwaitingCallback>>,
    storage: Option<Storage>,
    progress: Progress,
    authorization_url: String,
    redirect_uri: String,
}

/// Starts a sign-in with discovery and registration; resolves once the
/// authorization URL is known.
#[wasm_bindgen(js_name = startDynamic, unchecked_return_type = "Promise<PendingFlow>")]
pub fn start_dynamic(
    #[wasm_bindgen(unchecked_param_type = "DynamicOptions")] options: JsValue,
) -> Promise {
    future_to_promise(async move {
        let storage = Storage::from_options(&options)?;
        let progress = Progress::from_options(&options)?;
        let options =
            options::parse::<DynamicOptions>(&options_json(&options)?, "startDynamic options")?;
        let wants_dpop = options.wants_dpop();
        let mut config = options.into_config()?;
        if wants_dpop {
            // Used only if the authorization server turns out to offer DPoP.
            config.dpop_key = dpop::generate().await?;
        }
        let flow: Flow = DynamicFlow::new(config, &mut OsEntropy)
            .map_err(Failure::from)?
            .into();
        Ok(PendingFlow::start(flow, storage, progress).await?.into())
    })
}

/// Starts a sign-in with a client the user registered by hand; resolves once the
/// authorization URL is known.
#[wasm_bindgen(js_name = startManual, unchecked_return_type = "Promise<PendingFlow>")]
pub fn start_manual(
    #[wasm_bindgen(unchecked_param_type = "ManualOptions")] options: JsValue,
) -> Promise {
    future_to_promise(async move {
        let storage = Storage::from_options(&options)?;
        let progress = Progress::from_options(&options)?;
        let config =
            options::parse::<ManualOptions>(&options_json(&options)?, "startManual options")?
                .into_config()?;
        let flow: Flow = ManualFlow::new(config, &mut OsEntropy)
            .map_err(Failure::from)?
            .into();
        Ok(PendingFlow::start(flow, storage, progress).await?.into())
    })
}

/// A pending flow saved with `toJSON()` (object or JSON string), for example in
/// `sessionStorage` across a same-window redirect.
#[wasm_bindgen]
pub fn resume(
    #[wasm_bindgen(unchecked_param_type = "string | object")] json: JsValue,
    #[wasm_bindgen(unchecked_param_type = "ResumeOptions | undefined")] options: JsValue,
) -> Result<PendingFlow, JsValue> {
    let storage = Storage::from_options(&options)?;
    let progress = Progress::from_options(&options)?;
    let sign_in: AwaitingCallback = from_json_value(&json, "the saved flow")?;
    if sign_in.pending_state().is_none() {
        return Err(Failure::config("the saved flow is not waiting for an authorization").into());
    }
    Ok(PendingFlow::waiting(sign_in, storage, progress))
}

/// Restores the connection saved for `serverUrl` in `storage`, if there is one.
#[wasm_bindgen(js_name = loadConnection, unchecked_return_type = "Promise<Connection | undefined>")]
pub fn load_connection(
    server_url: String,
    #[wasm_bindgen(unchecked_param_type = "TokenStorage")] storage: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Omit<ResumeOptions, \"storage\">")] options: Option<
        JsValue,
    >,
) -> Promise {
    future_to_promise(async move {
        let progress = Progress::from_options(&options.unwrap_or(JsValue::UNDEFINED))?;
        let storage = Storage::from_value(storage)?
            .ok_or_else(|| Failure::config("loadConnection needs a storage object"))?;
        // Saved under the URL as startDynamic/startManual normalized it.
        let server_url = crate::idn::ascii_url("serverUrl", server_url)?;
        let Some(json) = storage.get(&server_url).await? else {
            return Ok(JsValue::UNDEFINED);
        };
        let session: Session = from_json_value(&json.into(), "the saved connection")?;
        Ok(Connection::new(session, Some(storage), progress).into())
    })
}

#[wasm_bindgen]
impl PendingFlow {
    /// Where to send the user (a popup or this window).
    #[wasm_bindgen(getter, js_name = authorizationUrl)]
    pub fn authorization_url(&self) -> String {
        self.authorization_url.clone()
    }

    /// The callback URL the authorization server will redirect to.
    #[wasm_bindgen(getter, js_name = redirectUri)]
    pub fn redirect_uri(&self) -> String {
        self.redirect_uri.clone()
    }

    /// The `state` the callback must carry (undefined once the callback arrived).
    #[wasm_bindgen(getter)]
    pub fn state(&self) -> Option<String> {
        self.sign_in.borrow().pending_state().map(str::to_owned)
    }

    /// Waits for the callback page in `popup` to relay its URL (see
    /// `relayCallback`), then exchanges the code. Messages from other windows or
    /// origins are ignored; a wrong `state` rejects with `state_mismatch` (the
    /// flow stays pending); a popup closed first rejects with `popup_closed`.
    #[wasm_bindgen(js_name = completeWithPopup, unchecked_return_type = "Promise<Connection>")]
    pub fn complete_with_popup(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Window | null")] popup: JsValue,
    ) -> Promise {
        let this = self.share();
        future_to_promise(async move {
            if popup.is_null() || popup.is_undefined() {
                return Err(Failure::new(
                    POPUP_BLOCKED,
                    "no sign-in window: open it with window.open in the click handler, before any await",
                )
                .into());
            }
            let origin = this.redirect_origin()?;
            let page_origin = page_origin();
            if page_origin.as_deref().is_some_and(|page| page != origin) {
                return Err(Failure::config(format!(
                    "the redirect URI {} must be on this page's origin {} for popup sign-in",
                    this.redirect_uri,
                    page_origin.unwrap_or_default()
                ))
                .into());
            }
            let callback_url = popup::wait_for_callback(&popup, &origin).await?;
            Ok(this.finish(&callback_url).await?.into())
        })
    }

    /// Completes the flow with the URL that reached the redirect URI (same-window
    /// redirect: pass `location.href` on the callback page).
    #[wasm_bindgen(unchecked_return_type = "Promise<Connection>")]
    pub fn complete(&self, callback_url: String) -> Promise {
        let this = self.share();
        future_to_promise(async move { Ok(this.finish(&callback_url).await?.into()) })
    }

    /// The pending flow as a plain object (`JSON.stringify(flow)` works). It holds
    /// the PKCE verifier: keep it in `sessionStorage`, not in a URL or on a server log.
    #[wasm_bindgen(js_name = toJSON)]
    pub fn to_json(&self) -> Result<JsValue, JsValue> {
        Ok(to_json_value(&*self.sign_in.borrow())?)
    }
}

impl PendingFlow {
    /// Drives a new flow to its authorization step.
    async fn start(
        flow: Flow,
        storage: Option<Storage>,
        progress: Progress,
    ) -> Result<PendingFlow, Failure> {
        let flow = RefCell::new(flow);
        drive(&flow, &progress).await?;
        let sign_in = flow
            .into_inner()
            .into_awaiting_callback()
            .map_err(|_| Failure::config("the flow finished without an authorization step"))?;
        let pending = PendingFlow::waiting(sign_in, storage, progress);
        pending.progress.emit(ProgressEvent::Authorize {
            url: pending.authorization_url.clone(),
        });
        Ok(pending)
    }

    fn waiting(sign_in: AwaitingCallback, storage: Option<Storage>, progress: Progress) -> Self {
        PendingFlow {
            authorization_url: sign_in.authorization_url().to_string(),
            redirect_uri: sign_in.redirect_uri().to_owned(),
            sign_in: Rc::new(RefCell::new(sign_in)),
            storage,
            progress,
        }
    }

    fn share(&self) -> PendingFlow {
        PendingFlow {
            sign_in: Rc::clone(&self.sign_in),
            storage: self.storage.clone(),
            progress: self.progress.clone(),
            authorization_url: self.authorization_url.clone(),
            redirect_uri: self.redirect_uri.clone(),
        }
    }

    fn redirect_origin(&self) -> Result<String, Failure> {
        url::Url::parse(&self.redirect_uri)
            .map(|url| url.origin().ascii_serialization())
            .map_err(|e| Failure::config(format!("redirect URI {}: {e}", self.redirect_uri)))
    }

    /// Feeds the callback to core (which checks `state` and `iss`), exchanges the
    /// code and saves the new connection.
    async fn finish(&self, callback_url: &str) -> Result<Connection, Failure> {
        let accepted = self.sign_in.borrow_mut().on_callback(callback_url, now());
        let exchange = match accepted {
            Ok(exchange) => {
                self.progress.emit(ProgressEvent::callback_accepted());
                exchange
            }
            // Still waiting: the callback did not belong to this sign-in.
            Err(error) if self.sign_in.borrow().pending_state().is_some() => {
                self.progress
                    .emit(ProgressEvent::callback_ignored(error.to_string()));
                return Err(error.into());
            }
            Err(error) => return Err(error.into()),
        };
        let session = exchange_code(exchange, &self.progress).await?;
        let connection = Connection::new(session, self.storage.clone(), self.progress.clone());
        connection.persist().await?;
        connection.signed_in();
        Ok(connection)
    }
}

/// Runs core's actions until the flow needs the user. No borrow of the flow is
/// held across an `await`.
async fn drive(flow: &RefCell<Flow>, progress: &Progress) -> Result<(), Failure> {
    loop {
        let action = flow.borrow().next_action();
        match action {
            Action::Send(request) => {
                let response = match send(flow, &request).await {
                    Ok(response) => response,
                    // An optional lookup (often refused by CORS) goes on without.
                    Err(_) if flow.borrow_mut().on_unreachable() => continue,
                    Err(failure) => return Err(failure),
                };
                progress.answered(&request, &response);
                flow.borrow_mut().on_response(response, now())?;
            }
            Action::Authorize { .. } => return Ok(()),
            Action::Done(_) => {
                return Err(Failure::config(
                    "the flow finished without an authorization step",
                ))
            }
            Action::Failed(error) => return Err(error.into()),
        }
    }
}

/// Sends one of the flow's requests, with a DPoP proof where core asks for one
/// (signed by WebCrypto), once more when the server wants a nonce.
async fn send(flow: &RefCell<Flow>, request: &HttpRequest) -> Result<HttpResponse, Failure> {
    let mut retried = false;
    loop {
        let mut attempt = request.clone();
        let proof = flow.borrow().dpop_proof(&attempt, now(), &mut OsEntropy)?;
        if let Some(proof) = proof {
            let key = flow.borrow().dpop().map(|binding| binding.key.clone());
            let key = key.ok_or_else(|| Failure::config("a DPoP proof without a key"))?;
            attempt =
                attempt.with_header(mcp_oauth_core::dpop::HEADER, dpop::sign(&key, proof).await?);
        }
        let response = fetch::execute(&attempt).await?;
        if flow.borrow_mut().dpop_retry(&attempt, &response, retried) {
            retried = true;
            continue;
        }
        return Ok(response);
    }
}

/// Exchanges the accepted callback's code for the session, with a DPoP proof
/// when the sign-in is bound (signed by WebCrypto), once more when the server
/// wants a nonce.
async fn exchange_code(
    mut exchange: CodeExchange,
    progress: &Progress,
) -> Result<Session, Failure> {
    let mut retried = false;
    loop {
        let mut request = exchange.request().clone();
        if let Some(proof) = exchange.dpop_proof(now(), &mut OsEntropy)? {
            let key = exchange.dpop_key().cloned();
            let key = key.ok_or_else(|| Failure::config("a DPoP proof without a key"))?;
            request =
                request.with_header(mcp_oauth_core::dpop::HEADER, dpop::sign(&key, proof).await?);
        }
        let response = fetch::execute(&request).await?;
        if exchange.dpop_retry(&response, retried) {
            retried = true;
            continue;
        }
        progress.answered(&request, &response);
        return Ok(exchange.on_response(&response, now())?);
    }
}

/// The options object as JSON (functions such as the storage callbacks drop out).
fn options_json(options: &JsValue) -> Result<String, Failure> {
    if !options.is_object() {
        return Err(Failure::config("options must be an object"));
    }
    js_sys::JSON::stringify(options)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| Failure::config("options must be plain data (JSON-serializable)"))
}

/// `location.origin` of the current page, when there is one.
fn page_origin() -> Option<String> {
    let location = js_sys::Reflect::get(&js_sys::global(), &"location".into()).ok()?;
    js_sys::Reflect::get(&location, &"origin".into())
        .ok()?
        .as_string()
}
