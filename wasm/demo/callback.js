// The redirect URI. In a popup it relays its URL to the opener and closes; after
// a same-window redirect it completes the pending flow saved in sessionStorage
// and goes back to the app.
import init, { relayCallback, resume } from "./pkg/mcp_oauth_wasm.js";
import { storage, PENDING_KEY } from "./storage.js";

const message = document.getElementById("message");
await init();
if (!relayCallback()) {
  const saved = sessionStorage.getItem(PENDING_KEY);
  sessionStorage.removeItem(PENDING_KEY);
  try {
    if (!saved) throw Object.assign(new Error("no sign-in is pending in this tab"), { code: "no_pending_flow" });
    await resume(saved, { storage }).complete(location.href);
    location.replace("/");
  } catch (error) {
    message.dataset.code = error.code ?? "unexpected";
    message.textContent = `Sign-in failed (${error.code}): ${error.message}`;
  }
}
