// End-to-end DPoP (RFC 9449) in real headless Chromium: the demo page signs in to
// the test server with DPoP and server nonces on. The page's key is a
// non-extractable WebCrypto key kept in IndexedDB; the test server requires
// proofs from this client (it registers as dpop_bound_access_tokens), checks
// them at the token endpoint and at the MCP endpoint, and demands nonces at both.
//
// Needs MCP_OAUTH_TEST_SERVER and a built pkg/web (scripts/test-wasm.sh).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const out = process.env.E2E_OUT ?? join(here, "..", "..", "target", "wasm-e2e");
const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

const children = [];
let browser;
let app;
let mcpUrl;

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
  mcpUrl = await firstLine(server, ["--consent-page", "--dpop", "--dpop-nonce"]);
  app = new URL(await firstLine(process.execPath, [join(here, "..", "demo", "serve.mjs"), "--mcp-url", mcpUrl])).origin;
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close();
  for (const child of children) {
    child.removeAllListeners("exit");
    child.kill("SIGTERM");
  }
});

async function expectConnected(page) {
  await page.waitForSelector("#status[data-state=connected]", { timeout: 15_000 });
  const tools = await page.locator("#tools code").allTextContents();
  assert.ok(tools.includes("echo"), `tools listed: ${tools}`);
}

/** The connection the demo saved in localStorage, parsed. */
async function savedConnection(page) {
  const json = await page.evaluate((url) => localStorage.getItem(`mcp-oauth:${url}`), mcpUrl);
  assert.ok(json, "the demo saved the connection");
  return JSON.parse(json);
}

/** What IndexedDB holds under `id`: the key's shape, never its bytes. */
function storedKey(page, id) {
  return page.evaluate((id) => new Promise((resolve, reject) => {
    const open = indexedDB.open("mcp-oauth", 1);
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const get = open.result.transaction("dpop-keys").objectStore("dpop-keys").get(id);
      get.onerror = () => reject(get.error);
      get.onsuccess = () => {
        const key = get.result;
        resolve(key && { type: key.type, extractable: key.extractable, curve: key.algorithm.namedCurve, usages: key.usages });
      };
    };
  }), id);
}

/** RFC 7638 thumbprint of a P-256 JWK, computed in the page. */
function thumbprint(page, jwk) {
  return page.evaluate(async ({ crv, kty, x, y }) => {
    const canonical = JSON.stringify({ crv, kty, x, y });
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonical)));
    return btoa(String.fromCharCode(...digest)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
  }, jwk);
}

test("popup sign-in binds the tokens to a non-extractable WebCrypto key that survives a reload", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on("pageerror", (error) => console.error("page error:", error));
  await page.goto(`${app}/`);
  await page.waitForSelector("#status[data-state=idle]");
  // The 401 challenge of a DPoP-only resource is readable across origins.
  const [popup] = await Promise.all([page.waitForEvent("popup"), page.click("#connect")]);
  await popup.waitForSelector("#approve");
  await popup.click("#approve");
  await expectConnected(page);

  const saved = await savedConnection(page);
  assert.equal(saved.tokens.token_type, "DPoP");
  const { public_jwk: jwk, private_key: privateKey } = saved.dpop.key;
  assert.equal(privateKey, undefined, "the private key is never in the saved connection");
  assert.deepEqual(Object.keys(jwk).sort(), ["crv", "kty", "x", "y"]);
  assert.deepEqual(await storedKey(page, await thumbprint(page, jwk)), {
    type: "private", extractable: false, curve: "P-256", usages: ["sign"],
  });
  // The token endpoint's nonce was answered and is kept for refreshes. (The MCP
  // endpoint demands its own nonce too: the tools list above got through it.)
  assert.deepEqual(Object.keys(saved.dpop.nonces).map((k) => k.split(" ")[0]), ["as"]);

  // The bound token alone gets nowhere: no proof, or a Bearer presentation.
  const statuses = await page.evaluate(async ({ url, token }) => {
    const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" });
    const headers = (scheme) => ({ "content-type": "application/json", authorization: `${scheme} ${token}` });
    return Promise.all(["Bearer", "DPoP"].map(async (scheme) =>
      (await fetch(url, { method: "POST", headers: headers(scheme), body })).status));
  }, { url: mcpUrl, token: saved.tokens.access_token });
  assert.deepEqual(statuses, [401, 401]);

  // A reload restores the connection, finds the key in IndexedDB, and proves again.
  await page.reload();
  await expectConnected(page);
  mkdirSync(out, { recursive: true });
  await page.screenshot({ path: join(out, "connected-dpop.png"), fullPage: true });

  // Disconnect forgets the key as well as the tokens.
  await page.click("#disconnect");
  await page.waitForSelector("#status[data-state=idle]");
  assert.equal(await storedKey(page, await thumbprint(page, jwk)), undefined);
  await context.close();
});
