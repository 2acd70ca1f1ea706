//! `mcp-oauth-wasm`: the browser package of `mcp-oauth`, a thin wasm-bindgen layer
//! over [`mcp_oauth_core`].
//!
//! Core's sign-in flows are driven with the browser's `fetch`; the authorization
//! step happens in a popup (the callback page relays its URL to the opener with
//! `postMessage`) or in the same window (the pending flow waits in
//! `sessionStorage`). Time comes from `Date.now()` at this boundary; randomness from
//! `crypto.getRandomValues` through core's `getrandom`. Tokens live where the host
//! says, through storage callbacks.
//!
//! ```js
//! import init, { startDynamic } from "mcp-oauth-wasm";
//! await init();
//! const popup = window.open("about:blank", "mcp-oauth", "popup,width=520,height=640");
//! const flow = await startDynamic({ serverUrl, redirectUri: location.origin + "/callback.html", clientName: "My App" });
//! popup.location = flow.authorizationUrl;
//! const connection = await flow.completeWithPopup(popup);
//! const token = await connection.accessToken();
//! ```
//!
//! Everything JS-facing is in [`flow`] and [`connection`]; errors are JS `Error`s
//! whose `code` is [`mcp_oauth_core::Error::code`] or one of the codes in [`error`].

mod clock;
pub mod connection;
mod dpop;
pub mod error;
mod fetch;
pub mod flow;
mod idn;
pub mod inspect;
mod options;
pub mod popup;
mod progress;
mod storage;

pub use connection::Connection;
pub use flow::PendingFlow;

use wasm_bindgen::prelude::wasm_bindgen;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/**
 * Where connections (tokens) are kept: the host decides (localStorage, IndexedDB,
 * a server...). The same callback names as the Node package's store; `remove` is
 * accepted in place of `delete`.
 */
export type TokenStorage = {
  /** The value saved under `key`, if any. */
  get(key: string): string | null | undefined | Promise<string | null | undefined>;
  /** Saves `value` under `key`; called after sign-in and after every refresh attempt. */
  set(key: string, value: string): void | Promise<void>;
  /**
   * Seal every value before `set` (and open it after `get`) with these keys: the
   * first seals, all open, so keys rotate. A `key` is 32 random bytes in base64
   * or base64url. A value that does not open (altered, moved to another key,
   * unknown key) is a `store_error`.
   */
  sealKeys?: Array<{ id: string; key: string }>;
} & (
  | {
      /** Forgets `key` (on `disconnect()`). */
      delete(key: string): void | Promise<void>;
    }
  | {
      /** Forgets `key` (on `disconnect()`). */
      remove(key: string): void | Promise<void>;
    }
);

/** A client registered beforehand with one authorization server. */
export interface PreRegisteredClient {
  /** The authorization server's issuer; the client is never sent to another. */
  issuer: string;
  clientId: string;
  clientSecret?: string;
  authMethod?: "none" | "client_secret_basic" | "client_secret_post";
}

/** Sign-in with discovery and registration (MCP servers). */
export interface DynamicOptions {
  /** The MCP server (protected resource) URL. */
  serverUrl: string;
  /** The callback page on this origin that calls `relayCallback()`. */
  redirectUri: string;
  /** Shown to the user at registration and consent. */
  clientName: string;
  /** A Client ID Metadata Document URL, used when the server supports it. */
  clientMetadataUrl?: string;
  /** The exact scope to request; chosen from the server's challenge otherwise. */
  scope?: string;
  /**
   * Bind the tokens to a non-extractable WebCrypto key (DPoP, RFC 9449) when the
   * server's authorization server offers it (default: true). The key is kept in
   * IndexedDB, so a restored connection keeps proving possession.
   */
  dpop?: boolean;
  /** Clients registered beforehand, used when discovery finds their issuer. */
  preRegistered?: PreRegisteredClient[];
  /** Where the connection is saved once signed in. */
  storage?: TokenStorage;
  /** Called with each step of the sign-in and of later token refreshes. */
  onProgress?: (event: ProgressEvent) => void;
}

/** Sign-in with a client the user registered by hand. */
export interface ManualOptions {
  clientId: string;
  clientSecret?: string;
  /** The authorization endpoint. */
  authorizationUrl: string;
  /** The token endpoint. */
  tokenUrl: string;
  /** Scopes to request, space-separated or as a list. */
  scopes?: string | string[];
  /** The callback page on this origin that calls `relayCallback()`. */
  redirectUri: string;
  /** The MCP server / API the token is for (sent as RFC 8707 `resource`). */
  serverUrl?: string;
  /** The issuer, if known: enables a metadata lookup and the RFC 9207 `iss` check. */
  issuer?: string;
  /** Where the connection is saved once signed in. */
  storage?: TokenStorage;
  /** Called with each step of the sign-in and of later token refreshes. */
  onProgress?: (event: ProgressEvent) => void;
}

/** Options for `resume()`, `loadConnection()` and `Connection.fromJSON()`. */
export interface ResumeOptions {
  storage?: TokenStorage;
  /** Called with each step of the rest of the sign-in and of token refreshes. */
  onProgress?: (event: ProgressEvent) => void;
}

/** An OAuth request of a sign-in and the status it got. */
export interface ProgressRequest {
  /** What the request was for: `probe` provokes the server's 401 challenge, `discovery` fetches metadata, `revocation` signs out (RFC 7009). */
  step: "probe" | "discovery" | "registration" | "token" | "revocation";
  method: "GET" | "POST";
  url: string;
  status: number;
}

/**
 * One step of a sign-in or token refresh, as `onProgress` receives it (the same
 * events as the Node package). Never carries a secret.
 */
export type ProgressEvent =
  | ProgressRequest
  /** The authorization URL is ready (`flow.authorizationUrl`) for the popup or the redirect. */
  | { step: "authorize"; url: string }
  /** A callback arrived: accepted, or ignored (it does not belong to this sign-in; the sign-in keeps waiting). */
  | { step: "callback"; accepted: boolean; reason?: string }
  /** Signed in. `expiresAt`: when the access token expires, in milliseconds since the epoch. */
  | { step: "signed_in"; issuer: string; clientId: string; scope?: string; expiresAt?: number }
  /** A token refresh finished; a failed one carries the error `code` (`reauth_required` when the server refused it; the status says the same). */
  | { step: "refresh"; ok: boolean; expiresAt?: number; code?: string };

/** What a UI shows for a connection. */
export interface ConnectionStatus {
  state: "connected" | "expired" | "reauth_required";
  /** When the access token expires, in milliseconds since the epoch (`new Date(expiresAt)`), if known. */
  expiresAt?: number;
}

/** How a server signs clients in, from `inspect(url)`, before sign-in. */
export interface ServerInfo {
  issuer: string;
  /** The protected resource, when the URL was one. */
  resource?: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  /** The client authentication methods the server lists (absent: not listed). */
  tokenEndpointAuthMethodsSupported?: string[];
  /** A manually registered client needs a secret (`none` is not listed). */
  clientSecretRequired: boolean;
  registration: "open" | "closed" | "absent" | "unknown";
  scopesSupported?: string[];
  resourceScopesSupported?: string[];
  clientIdMetadataDocumentSupported: boolean;
  revocationSupported: boolean;
}

/** Every error this package throws or rejects with. */
export interface McpOAuthError extends Error {
  name: "McpOAuthError";
  /** Stable, snake_case: the same codes as the Node package (`state_mismatch`, `popup_closed`, `reauth_required`, ...). */
  code: string;
  /** With `step_up_required`: the scope to sign in with again (`startDynamic({ ..., scope })`). */
  scope?: string;
  /** With `reauth_required`: the connection (its server URL) to sign in again. */
  connectionId?: string;
}
"#;
