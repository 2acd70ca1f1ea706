// Types of popup.mjs, the browser half of a web backend's popup sign-in.

/** The `type` of the message the backend's `callbackPage()` posts to the opener. */
export declare const MESSAGE_TYPE: 'mcp-oauth:sign-in'

/** The message `callbackPage()` posts. */
export interface SignInMessage {
  type: 'mcp-oauth:sign-in'
  ok: boolean
  connectionId?: string
  error?: { code: string; message: string }
}

/** Errors of the popup sign-in: the backend's code, or `popup_closed`, `popup_blocked`, `cancelled`. */
export interface PopupSignInError extends Error {
  name: 'McpOAuthError'
  code: string
  connectionId?: string
}

/** The window name of the popup for `connectionId`. */
export declare function popupName(connectionId: string): string

/** Opens the sign-in popup at `url`; call inside the click handler, before any `await`. */
export declare function openSignInPopup(
  url: string,
  options?: { connectionId?: string; width?: number; height?: number },
): Window | null

/** Waits for the callback page in `popup` to report, from `origin` (default: this page's). */
export declare function waitForSignIn(
  popup: Window | null,
  options?: { origin?: string; signal?: AbortSignal },
): Promise<{ connectionId: string }>

/** `openSignInPopup` then `waitForSignIn`. */
export declare function signInWithPopup(
  url: string,
  options?: { connectionId?: string; origin?: string; signal?: AbortSignal; width?: number; height?: number },
): Promise<{ connectionId: string }>
