// End-to-end: the demo page in real headless Chromium (Debian's, driven by
// playwright-core) signs in to the local test server (AS + MCP resource, with
// its HTML consent page) through a popup or a same-window redirect.
//
// Needs MCP_OAUTH_TEST_SERVER (the mcp-oauth-test-server binary) and a built
// pkg/web; scripts/test-wasm.sh provides both. Screenshots go to E2E_OUT
// (default: <repo>/target/wasm-e2e).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "..", "..");
const out = process.env.E2E_OUT ?? join(repo, "target", "wasm-e2e");
const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

let children = [];
let browser;
let app; // the demo's origin, e.g. http://127.0.0.1:41234
let mcpUrl;

/** Starts a process and resolves with the first line it prints. */
function firstLine(command, args) {
  const env = { ...process.env, RUST_LOG: process.env.RUST_LOG ?? "warn" };
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "inherit"], env });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`${command} exited with ${code}`)));
    createInterface({ input: child.stdout }).once("line", resolve);
  });
}

before(async () => {
  const server = process.env.MCP_OAUTH_TEST_SERVER;
  assert.ok(server, "set MCP_OAUTH_TEST_SERVER to the mcp-oauth-test-server binary");
  mcpUrl = await firstLine(server, ["--consent-page"]);
  app = new URL(await firstLine(process.execPath, [join(here, "..", "demo", "serve.mjs"), "--mcp-url", mcpUrl])).origin;
  // A fresh user-data dir: playwright's launch() refuses --user-data-dir and
  // makes a new temporary profile itself; contexts below are fresh as well.
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: CHROMIUM_ARGS,
  });
  mkdirSync(out, { recursive: true });
});

after(async () => {
  await browser?.close();
  for (const child of children) {
    child.removeAllListeners("exit");
    child.kill("SIGTERM");
  }
});

/** A fresh context (storage) with the demo loaded and ready. */
async function openDemo() {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on("pageerror", (error) => console.error("page error:", error));
  await page.goto(`${app}/`);
  await page.waitForSelector("#status[data-state=idle]");
  return { context, page };
}

/** Clicks Connect and returns the popup once it shows the AS consent page. */
async function connectWithPopup(page) {
  const [popup] = await Promise.all([page.waitForEvent("popup"), page.click("#connect")]);
  await popup.waitForSelector("#approve");
  assert.equal(new URL(popup.url()).origin, new URL(mcpUrl).origin, "the popup is at the AS");
  return popup;
}

async function expectConnected(page) {
  await page.waitForSelector("#status[data-state=connected]", { timeout: 15_000 });
  const tools = await page.locator("#tools code").allTextContents();
  assert.ok(tools.includes("echo"), `tools listed: ${tools}`);
  return tools;
}

async function expectError(page, code) {
  await page.waitForSelector("#status[data-state=error]", { timeout: 15_000 });
  assert.equal(await page.getAttribute("#status", "data-code"), code, await page.textContent("#status"));
}

test("popup sign-in: Connect, consent, relay, connected with the tools list", async () => {
  const { context, page } = await openDemo();
  // The dynamic flow starts from the 401's challenge, so the browser must be
  // allowed to read it (Access-Control-Expose-Headers on the MCP server).
  const challenge = await page.evaluate(async (url) => {
    const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    return `${response.status} ${response.headers.get("www-authenticate")}`;
  }, mcpUrl);
  assert.match(challenge, /^401 Bearer .*resource_metadata=/);
  const popup = await connectWithPopup(page);
  const closed = popup.waitForEvent("close");
  await popup.click("#approve");
  await closed; // the callback page relayed and closed itself
  const tools = await expectConnected(page);
  assert.match(await page.textContent("#status"), /^connected until /);
  await page.screenshot({ path: join(out, "connected.png"), fullPage: true });

  // The connection was saved through the storage callbacks: a reload restores it
  // without another sign-in.
  await page.reload();
  assert.deepEqual(await expectConnected(page), tools);
  await context.close();
});

test("a popup closed by the user ends with popup_closed", async () => {
  const { context, page } = await openDemo();
  const popup = await connectWithPopup(page);
  await popup.close();
  await expectError(page, "popup_closed");
  assert.match(await page.textContent("#status"), /closed before sign-in finished/);
  await context.close();
});

test("messages from a foreign origin or another window are ignored", async () => {
  const { context, page } = await openDemo();
  const popup = await connectWithPopup(page);
  const authorize = new URL(popup.url());
  const forged = new URL(`${app}/callback.html`);
  forged.searchParams.set("code", "forged-code");
  forged.searchParams.set("state", authorize.searchParams.get("state"));
  forged.searchParams.set("iss", new URL(mcpUrl).origin);
  const message = { type: "mcp-oauth-callback", url: forged.href };
  // From the popup, but from the AS's origin: wrong origin.
  await popup.evaluate((m) => window.opener.postMessage(m, "*"), message);
  // From the app's origin, but not from the popup: wrong window.
  await page.evaluate((m) => window.postMessage(m, "*"), message);
  await page.waitForTimeout(500);
  assert.equal(await page.getAttribute("#status", "data-state"), "working", "still waiting for the popup");
  // Had either been taken, the forged code would have failed the exchange.
  await popup.click("#approve");
  await expectConnected(page);
  await context.close();
});

test("a callback with the wrong state is rejected with state_mismatch", async () => {
  const { context, page } = await openDemo();
  const popup = await connectWithPopup(page);
  const wrong = new URL(`${app}/callback.html`);
  wrong.searchParams.set("code", "some-code");
  wrong.searchParams.set("state", "not-the-state");
  wrong.searchParams.set("iss", new URL(mcpUrl).origin);
  // The popup lands on the real callback page, which relays as usual.
  await popup.evaluate((url) => { location.href = url; }, wrong.href);
  await expectError(page, "state_mismatch");
  assert.equal(await page.locator("#tools li").count(), 0);
  await context.close();
});

test("same-window redirect completes through sessionStorage", async () => {
  const { context, page } = await openDemo();
  await page.click("#connect-redirect");
  await page.waitForSelector("#approve"); // this tab is at the AS now
  assert.equal(new URL(page.url()).origin, new URL(mcpUrl).origin);
  await page.click("#approve");
  await page.waitForURL(`${app}/`);
  await expectConnected(page);
  assert.equal(await page.evaluate(() => sessionStorage.getItem("mcp-oauth:pending")), null,
    "the pending flow was taken out of sessionStorage");
  await page.screenshot({ path: join(out, "connected-redirect.png"), fullPage: true });
  await context.close();
});

test("inspect(url) tells a connect form how the server signs clients in, before sign-in", async () => {
  const { context, page } = await openDemo();
  const info = await page.evaluate(async (url) => {
    // The module app.js already initialized; init() again is a no-op.
    const pkg = await import("/pkg/mcp_oauth_wasm.js");
    await pkg.default();
    return pkg.inspect(url);
  }, mcpUrl);
  assert.equal(info.issuer, new URL(mcpUrl).origin);
  assert.equal(info.registration, "open");
  assert.equal(info.clientSecretRequired, false);
  assert.ok(info.tokenEndpointAuthMethodsSupported.includes("none"), JSON.stringify(info));
  const missing = await page.evaluate(async () => {
    const pkg = await import("/pkg/mcp_oauth_wasm.js");
    return pkg.inspect("ftp://example.com/").then(() => "resolved", (error) => error.code);
  });
  assert.equal(missing, "insecure_endpoint");
  await context.close();
});
