// Acceptance: an Express backend (test/web/app.mjs, public API only) in headless
// Chromium. Connect opens the popup, the test server's consent page is
// approved, the backend's callback completes, the opener gets the message and
// the backend lists tools through the MCP SDK with `connection.fetch`. Then the
// same with the callback forged, replayed, expired and completed under another
// user: each ends on the page with its code, and nothing is stored.
//
// Run by scripts/test-web-backend.sh (PostgreSQL, Chromium, the test server).
// Screenshots go to E2E_OUT (default: <target>/web-e2e).
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { chromium } from 'playwright-core'
import { generateSealKey } from '../../index.mjs'
import { startServer } from '../helpers.mjs'
import { createBackend } from './app.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))
const out = process.env.E2E_OUT ?? path.join(process.env.CARGO_TARGET_DIR ?? path.join(here, '..', '..', '..', 'target'), 'web-e2e')
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
]
const sealKeys = [{ id: '2025-01', key: generateSealKey() }]

let server
let browser
let db
const backends = []

async function backend(options) {
  const started = await createBackend({ mcpUrl: server.url, sealKeys, ...options })
  backends.push(started)
  return started
}

before(async () => {
  assert.ok(process.env.PGHOST, 'run through scripts/test-web-backend.sh (it starts PostgreSQL)')
  server = await startServer(['--consent-page'])
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: CHROMIUM_ARGS })
  db = new pg.Pool({ max: 2 })
  mkdirSync(out, { recursive: true })
})

after(async () => {
  await browser?.close()
  await Promise.all(backends.map((b) => b.close()))
  await db?.end()
  await server?.stop()
})

/** The rows of `table`: key → sealed value. */
async function rows(table) {
  const { rows } = await db.query(`SELECT key, value FROM ${table} ORDER BY key`)
  return Object.fromEntries(rows.map((r) => [r.key, r.value]))
}

/** A fresh browser profile signed in to the app as `user`. */
async function signedIn(app, user) {
  const context = await browser.newContext()
  const page = await context.newPage()
  page.on('pageerror', (error) => console.error('page error:', error))
  await page.goto(`${app.url}/login?user=${user}`)
  await page.waitForFunction(() => document.getElementById('user').textContent !== '')
  return { context, page }
}

/** Clicks Connect; resolves to the popup once it shows the consent page. */
async function openConsent(page) {
  const [popup] = await Promise.all([page.waitForEvent('popup'), page.click('#connect')])
  await popup.waitForSelector('#approve')
  assert.equal(new URL(popup.url()).origin, server.origin, 'the popup is at the authorization server')
  return popup
}

async function expectError(page, code) {
  await page.waitForSelector('#status[data-state=error]', { timeout: 15_000 })
  assert.equal(await page.getAttribute('#status', 'data-code'), code, await page.textContent('#status'))
}

/**
 * Mallory's own browser, scripted: starts a sign-in as herself, approves it,
 * and keeps the callback URL instead of following it.
 */
async function attackerCallback(app) {
  const start = await fetch(`${app.url}/oauth/start`, { headers: { cookie: 'user=mallory' }, redirect: 'manual' })
  const consent = await (await fetch(start.headers.get('location'))).text()
  const action = /action="([^"]+)"/.exec(consent)[1].replaceAll('&amp;', '&')
  const pending = /name="pending" value="([^"]+)"/.exec(consent)[1]
  const approved = await fetch(action, {
    method: 'POST',
    body: new URLSearchParams({ pending, decision: 'approve' }),
    redirect: 'manual',
  })
  const callback = approved.headers.get('location')
  assert.ok(callback.startsWith(`${app.url}/oauth/callback?`), callback)
  return callback
}

/** Sends the popup to `url`; the callback page there posts and closes at once. */
async function navigate(popup, url) {
  await popup.evaluate((to) => {
    window.location.href = to
  }, url)
}

test('Connect: popup, consent, backend callback, message to the opener, tools/list through the MCP SDK', async () => {
  const app = await backend({ table: 'web_stored' })
  const { context, page } = await signedIn(app, 'user-42')
  const popup = await openConsent(page)
  assert.equal(await popup.evaluate(() => window.name), 'mcp-oauth-test-server', 'the popup is named per server')
  let callbackUrl
  popup.on('request', (request) => {
    if (request.url().startsWith(`${app.url}/oauth/callback`)) callbackUrl = request.url()
  })
  const closed = popup.waitForEvent('close')
  await popup.click('#approve')
  await closed // the callback page posted to the opener and closed itself
  await page.waitForSelector('#status[data-state=connected]', { timeout: 15_000 })
  const tools = await page.locator('#tools code').allTextContents()
  assert.ok(tools.includes('echo'), `tools: ${tools}`)
  await page.screenshot({ path: path.join(out, 'connected.png'), fullPage: true })

  const stored = await rows('web_stored')
  assert.deepEqual(Object.keys(stored).filter((k) => !k.startsWith('clients')), ['session/user-42/test-server'])
  for (const value of Object.values(stored)) assert.match(value, /^s1\.2025-01\.[A-Za-z0-9_-]+$/, 'sealed')

  // Replayed: the same callback again, in a new Connect's popup.
  const again = await openConsent(page)
  await navigate(again, callbackUrl)
  await expectError(page, 'state_mismatch')
  const withoutPending = (all) => Object.fromEntries(Object.entries(all).filter(([k]) => !k.startsWith('pending/')))
  assert.deepEqual(withoutPending(await rows('web_stored')), stored, 'nothing stored (not even rewritten)')
  await context.close()
})

test('a forged callback ends with state_mismatch and stores nothing', async () => {
  const app = await backend({ table: 'web_forged' })
  const { context, page } = await signedIn(app, 'user-1')
  const popup = await openConsent(page)
  const state = new URL(popup.url()).searchParams.get('state')
  const before = await rows('web_forged')
  await navigate(popup, `${app.url}/oauth/callback?code=forged-code&state=${state.slice(0, -3)}abc&iss=${encodeURIComponent(server.origin)}`)
  await expectError(page, 'state_mismatch')
  assert.deepEqual(await rows('web_forged'), before, 'the pending sign-in is still there, nothing else')
  await context.close()
})

test('a callback completed in another user\'s session ends with subject_mismatch (login CSRF)', async () => {
  const app = await backend({ table: 'web_csrf' })
  // Mallory signs in to her own account and keeps the callback URL...
  const callbackUrl = await attackerCallback(app)
  // ...and gets the victim's browser to load it.
  const { context, page } = await signedIn(app, 'victim')
  const popup = await openConsent(page)
  await navigate(popup, callbackUrl)
  await expectError(page, 'subject_mismatch')
  assert.deepEqual(Object.keys(await rows('web_csrf')).filter((k) => k.startsWith('session/')), [], 'nothing stored')
  await context.close()
})

test('a sign-in approved after its time ends with sign_in_expired', async () => {
  const app = await backend({ table: 'web_expired', signInTtlMs: 1_000 })
  const { context, page } = await signedIn(app, 'user-2')
  const popup = await openConsent(page)
  await page.waitForTimeout(1_500)
  await popup.click('#approve')
  await expectError(page, 'sign_in_expired')
  assert.deepEqual(Object.keys(await rows('web_expired')).filter((k) => !k.startsWith('clients')), [], 'nothing stored')
  await context.close()
})

test('sealed pending sign-ins: connected without a pending row; a replay is refused by the server', async () => {
  const app = await backend({ table: 'web_sealed', pendingSignIns: 'sealed' })
  const { context, page } = await signedIn(app, 'user-3')
  const popup = await openConsent(page)
  const state = new URL(popup.url()).searchParams.get('state')
  assert.match(state, /^s1\.2025-01\./)
  assert.deepEqual(Object.keys(await rows('web_sealed')), [], 'nothing kept while the user consents')
  let callbackUrl
  popup.on('request', (request) => {
    if (request.url().startsWith(`${app.url}/oauth/callback`)) callbackUrl = request.url()
  })
  await popup.click('#approve')
  await page.waitForSelector('#status[data-state=connected]', { timeout: 15_000 })
  const stored = await rows('web_sealed')
  assert.ok(stored['session/user-3/test-server'])
  const again = await openConsent(page)
  await navigate(again, callbackUrl)
  await expectError(page, 'invalid_grant')
  assert.deepEqual(await rows('web_sealed'), stored, 'nothing stored')
  await context.close()
})

test('the page takes only its own popup\'s message from the backend\'s origin; closing the popup is popup_closed', async () => {
  const app = await backend({ table: 'web_messages' })
  const { context, page } = await signedIn(app, 'user-4')
  const popup = await openConsent(page)
  const fake = { type: 'mcp-oauth:sign-in', ok: true, connectionId: 'user-4/test-server' }
  await popup.evaluate((m) => window.opener.postMessage(m, '*'), fake) // from the AS's origin
  await page.evaluate((m) => window.postMessage(m, '*'), fake) // from another window
  await page.waitForTimeout(600)
  assert.equal(await page.getAttribute('#status', 'data-state'), 'working', 'still waiting')
  await popup.close()
  await expectError(page, 'popup_closed')
  await context.close()
})
