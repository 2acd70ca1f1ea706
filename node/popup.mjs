// The browser half of a web backend's popup sign-in (`mcp-oauth-node/popup`):
// plain ES module, no dependencies, for the app's page (serve it, or bundle it).
//
//   connectButton.onclick = async () => {
//     try {
//       const { connectionId } = await signInWithPopup(`/oauth/start?server=linear`, { connectionId: 'linear' })
//     } catch (error) { show(error.code) }   // access_denied, state_mismatch, popup_closed, ...
//   }
//
// The backend's callback route answers `callbackPage()` from the Node package,
// which posts `{ type: 'mcp-oauth:sign-in', ok, connectionId, error }` to this
// page at its exact origin. A message counts only if it comes from the popup
// this call opened, from the backend's origin, with that type; anything else is
// ignored. Each connection gets its own popup window name, so two sign-ins in
// flight never navigate each other's window.

/** The `type` of the callback page's message. */
export const MESSAGE_TYPE = 'mcp-oauth:sign-in'

const CLOSED_POLL_MS = 250
// The callback page posts and then closes; its message can be dispatched after
// the first poll sees `closed`, so a popup must stay closed for two polls.
const CLOSED_POLLS = 2

/** The window name of the popup for `connectionId`. */
export function popupName(connectionId) {
  return `mcp-oauth-${String(connectionId).replace(/[^A-Za-z0-9_-]/g, '_')}`
}

function failure(code, message) {
  const error = new Error(message)
  error.name = 'McpOAuthError'
  error.code = code
  return error
}

/**
 * Opens the sign-in popup at `url` (the backend's start route). Call it inside
 * the click handler, before any `await`, or the browser blocks it.
 */
export function openSignInPopup(url, { connectionId, width = 520, height = 680 } = {}) {
  const left = Math.max(0, (window.screenX ?? 0) + ((window.outerWidth ?? width) - width) / 2)
  const top = Math.max(0, (window.screenY ?? 0) + ((window.outerHeight ?? height) - height) / 2)
  const features = `popup,width=${width},height=${height},left=${Math.round(left)},top=${Math.round(top)}`
  return window.open(url, popupName(connectionId ?? 'default'), features)
}

/**
 * Resolves to `{ connectionId }` when the callback page in `popup` reports
 * success; rejects with an `Error` whose `code` is the backend's (and whose
 * `connectionId` names the connection, when known), `popup_closed` when the
 * user closed the window first, `popup_blocked` without a window, or
 * `cancelled` when `signal` aborts.
 */
export function waitForSignIn(popup, { origin = window.location.origin, signal } = {}) {
  if (!popup) {
    return Promise.reject(failure('popup_blocked', 'the browser blocked the sign-in window; open it inside the click handler'))
  }
  return new Promise((resolve, reject) => {
    let closedPolls = 0
    const done = () => {
      window.removeEventListener('message', onMessage)
      clearInterval(timer)
      signal?.removeEventListener('abort', onAbort)
    }
    const onMessage = (event) => {
      if (event.source !== popup || event.origin !== origin) return
      const data = event.data
      if (data === null || typeof data !== 'object' || data.type !== MESSAGE_TYPE) return
      done()
      if (data.ok === true) {
        resolve({ connectionId: data.connectionId })
        return
      }
      const error = failure(data.error?.code ?? 'sign_in_failed', data.error?.message ?? 'the sign-in failed')
      if (data.connectionId) error.connectionId = data.connectionId
      reject(error)
    }
    const timer = setInterval(() => {
      closedPolls = popup.closed ? closedPolls + 1 : 0
      if (closedPolls >= CLOSED_POLLS) {
        done()
        reject(failure('popup_closed', 'the sign-in window was closed before sign-in finished'))
      }
    }, CLOSED_POLL_MS)
    const onAbort = () => {
      done()
      popup.close()
      reject(failure('cancelled', 'the sign-in was cancelled'))
    }
    window.addEventListener('message', onMessage)
    if (signal?.aborted) onAbort()
    else signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/** `openSignInPopup` then `waitForSignIn`: call it inside the click handler. */
export function signInWithPopup(url, { connectionId, origin, signal, width, height } = {}) {
  const popup = openSignInPopup(url, { connectionId, width, height })
  return waitForSignIn(popup, { origin, signal })
}
