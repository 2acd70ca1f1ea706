import init, { startDynamic, loadConnection } from "./pkg/mcp_oauth_wasm.js";
import { storage, PENDING_KEY, redirectUri } from "./storage.js";

const $ = (id) => document.getElementById(id);
const status = $("status");

function show(state, text, code) {
  status.dataset.state = state;
  if (code) status.dataset.code = code;
  else delete status.dataset.code;
  status.textContent = text;
}

function showError(error) {
  show("error", `error (${error.code ?? "unexpected"}): ${error.message}`, error.code ?? "unexpected");
}

const { serverUrl } = await (await fetch("/config.json")).json();
$("server").textContent = serverUrl;
await init();
const options = { serverUrl, redirectUri, clientName: "mcp-oauth browser demo", storage };

async function showConnected(connection) {
  const { state, expiresAt } = connection.status();
  const until = expiresAt ? ` until ${new Date(expiresAt).toLocaleTimeString()}` : "";
  show(state === "connected" ? "working" : "error", `${state}${until}; listing tools…`);
  const response = await connection.fetch(serverUrl, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
  });
  if (!response.ok) throw Object.assign(new Error(`tools/list answered ${response.status}`), { code: "mcp_error" });
  const { result } = await response.json();
  $("tools").replaceChildren(
    ...result.tools.map((tool) => {
      const item = document.createElement("li");
      item.innerHTML = `<code></code> — <span></span>`;
      item.querySelector("code").textContent = tool.name;
      item.querySelector("span").textContent = tool.description ?? "";
      return item;
    }),
  );
  show("connected", `connected${until}`);
  $("disconnect").hidden = false;
}

$("connect").addEventListener("click", async () => {
  // Open the popup now, inside the click: browsers block window.open after an await.
  const popup = window.open("about:blank", "mcp-oauth", "popup,width=520,height=680");
  try {
    show("working", "signing in…");
    const flow = await startDynamic(options);
    if (popup) popup.location.href = flow.authorizationUrl;
    const connection = await flow.completeWithPopup(popup);
    await showConnected(connection);
  } catch (error) {
    popup?.close();
    showError(error);
  }
});

$("connect-redirect").addEventListener("click", async () => {
  try {
    show("working", "signing in…");
    const flow = await startDynamic(options);
    sessionStorage.setItem(PENDING_KEY, JSON.stringify(flow));
    location.assign(flow.authorizationUrl);
  } catch (error) {
    showError(error);
  }
});

$("disconnect").addEventListener("click", async () => {
  const connection = await loadConnection(serverUrl, storage);
  await connection?.disconnect();
  $("tools").replaceChildren();
  $("disconnect").hidden = true;
  show("idle", "not connected");
});

$("connect").disabled = false;
$("connect-redirect").disabled = false;
try {
  const saved = await loadConnection(serverUrl, storage);
  if (saved && saved.status().state !== "reauth_required") await showConnected(saved);
  else show("idle", "not connected");
} catch (error) {
  showError(error);
}
