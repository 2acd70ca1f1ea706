// The connection lifecycle, written once and run against every JavaScript host
// (MCP_OAUTH_JS_HOST=node: the N-API addon; =wasm: the browser package loaded
// in Node), so that the hosts cannot drift: sign-in progress, accessToken,
// status, fetch with the bearer, refresh (shared by concurrent callers), the
// 401 retry, expiry, the store callbacks, and errors with their codes. Each
// test starts its own local test server on an ephemeral port.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import host from './host.mjs'
import { startServer, mapStore } from '../../node/test/helpers.mjs'

// Tokens live 8 s; one this short is refreshed half-way through its life, so it
// is due 4 s after issue (and a refreshed one 4 s after that).
const DUE_SOON = ['--token-lifetime', '8']
const UNTIL_DUE_MS = 4_500

const servers = []
after(() => Promise.all(servers.map((s) => s.stop())))
async function server(args = []) {
  const started = await startServer(args)
  servers.push(started)
  return started
}

/** tools/list through connection.fetch; the tool names. */
async function toolNames(connection, url) {
  const response = await connection.fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
  })
  assert.equal(response.status, 200, 'tools/list through connection.fetch')
  return (await response.json()).result.tools.map((t) => t.name)
}

/** Asserts that `promise` rejects with an Error whose `code` is `code`. */
async function rejectsWith(promise, code) {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof Error, `an Error, not ${typeof error}`)
    assert.equal(error.code, code, error.message)
    return true
  })
}

/** Waits (briefly) until `events` holds an event matching `predicate`. */
async function eventually(events, predicate) {
  for (let i = 0; i < 100 && !events.some(predicate); i++) await sleep(20)
  return events.find(predicate)
}

test(`[${host.name}] a dynamic sign-in reports each step in order, without secrets`, async () => {
  const s = await server()
  const events = []
  const connection = await host.signIn(s.url, { onProgress: (event) => events.push(event) })
  await eventually(events, (e) => e.step === 'signed_in')
  const origin = s.origin
  assert.deepEqual(
    events.map((e) => [e.step, e.method ?? e.accepted, e.url?.startsWith('http') ? new URL(e.url).pathname : e.url, e.status]),
    [
      ['probe', 'POST', '/mcp', 401],
      ['discovery', 'GET', '/resource-metadata/mcp', 200],
      ['discovery', 'GET', '/.well-known/oauth-authorization-server', 200],
      ['registration', 'POST', '/register', 201],
      ['authorize', undefined, '/authorize', undefined],
      ['callback', true, undefined, undefined],
      ['token', 'POST', '/token', 200],
      ['signed_in', undefined, undefined, undefined],
    ],
  )
  const signedIn = events.at(-1)
  assert.equal(signedIn.issuer, origin)
  assert.ok(signedIn.clientId.length > 0)
  assert.equal(signedIn.scope, 'mcp:read mcp:write')
  assert.ok(Math.abs(signedIn.expiresAt - (Date.now() + 3_600_000)) < 120_000, 'expiresAt in milliseconds')
  const token = await connection.accessToken()
  assert.ok(!JSON.stringify(events).includes(token), 'no event carries the access token')
})

test(`[${host.name}] a valid access token is handed out as is, and the status says connected`, async () => {
  const s = await server()
  const connection = await host.signIn(s.url)
  const token = await connection.accessToken()
  assert.ok(token.length > 10)
  assert.equal(await connection.accessToken(), token, 'a valid token is reused')
  const status = await connection.status()
  assert.equal(status.state, 'connected')
  assert.ok(status.expiresAt > Date.now() + 3_000_000, 'expiresAt is in milliseconds, about an hour ahead')
  assert.equal(await s.count('POST', '/token'), 1, 'only the code exchange')
})

test(`[${host.name}] fetch sends the bearer, which the server accepts; without it the server says 401`, async () => {
  const s = await server()
  const connection = await host.signIn(s.url)
  assert.ok((await toolNames(connection, s.url)).includes('echo'))
  const bare = await fetch(s.url, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })
  assert.equal(bare.status, 401)
})

test(`[${host.name}] a token due for refresh is refreshed once for 100 concurrent callers`, async () => {
  const s = await server(DUE_SOON)
  const events = []
  const connection = await host.signIn(s.url, { onProgress: (event) => events.push(event) })
  const first = await connection.accessToken()
  await sleep(UNTIL_DUE_MS)
  const tokens = await Promise.all(Array.from({ length: 100 }, () => connection.accessToken()))
  assert.equal(new Set(tokens).size, 1, 'every caller got the same token')
  assert.notEqual(tokens[0], first)
  assert.equal(await s.count('POST', '/token'), 2, 'the code exchange and exactly one refresh')
  const refreshed = await eventually(events, (e) => e.step === 'refresh')
  assert.equal(refreshed.ok, true)
  assert.ok(refreshed.expiresAt > Date.now(), 'expiresAt in milliseconds')
  assert.ok((await toolNames(connection, s.url)).includes('echo'), 'the new token works')
  const forced = await connection.refresh()
  assert.notEqual(forced, tokens[0])
  assert.equal(await s.count('POST', '/token'), 3)
  assert.equal((await connection.status()).state, 'connected')
})

test(`[${host.name}] a token the server rejects with 401 is refreshed once and the request retried`, async () => {
  const s = await server()
  const store = mapStore()
  const connection = await host.signIn(s.url, { store })
  const token = await connection.accessToken()
  // The stored connection now holds a token the server never issued.
  const key = host.sessionKey(s.url)
  store.map.set(key, store.map.get(key).replaceAll(token, 'not-a-token-the-server-issued'))
  const reopened = await host.restore(s.url, store)
  assert.equal(await reopened.accessToken(), 'not-a-token-the-server-issued')
  const before = await s.count('POST', '/token')
  assert.ok((await toolNames(reopened, s.url)).includes('echo'))
  assert.equal(await s.count('POST', '/token'), before + 1, 'one refresh')
  const now = await reopened.accessToken()
  assert.notEqual(now, 'not-a-token-the-server-issued')
  assert.ok(store.map.get(key).includes(now), 'the refreshed token was saved')
})

test(`[${host.name}] a refused refresh is reauth_required naming the connection, and so is the status`, async () => {
  const s = await server(['--refresh-fails', ...DUE_SOON])
  const events = []
  const connection = await host.signIn(s.url, { onProgress: (event) => events.push(event) })
  await sleep(UNTIL_DUE_MS)
  await assert.rejects(connection.accessToken(), (error) => {
    assert.ok(error instanceof Error, `an Error, not ${typeof error}`)
    assert.equal(error.code, 'reauth_required', error.message)
    assert.equal(error.connectionId, s.url)
    assert.match(error.message, /invalid_grant/)
    return true
  })
  assert.equal((await connection.status()).state, 'reauth_required')
  const failed = await eventually(events, (e) => e.step === 'refresh')
  assert.deepEqual(failed, { step: 'refresh', ok: false, code: 'reauth_required' })
})

test(`[${host.name}] an expired token without a refresh token needs a new sign-in (reauth_required)`, async () => {
  const s = await server(['--no-refresh-tokens'])
  const store = mapStore()
  await host.signIn(s.url, { store })
  // The stored token expired long ago.
  const key = host.sessionKey(s.url)
  store.map.set(key, store.map.get(key).replace(/"expires_at":\d+/, '"expires_at":1'))
  const reopened = await host.restore(s.url, store)
  assert.equal((await reopened.status()).state, 'reauth_required')
  await rejectsWith(reopened.accessToken(), 'reauth_required')
  assert.equal(await s.count('POST', '/token'), 1, 'nothing to refresh with')
})

test(`[${host.name}] the store keeps the connection, and a reopened one needs no new sign-in`, async () => {
  const s = await server()
  const store = mapStore()
  const connection = await host.signIn(s.url, { store })
  const token = await connection.accessToken()
  assert.ok(store.map.get(host.sessionKey(s.url)).includes(token), 'the stored session holds the token')
  const authorizations = await s.count('GET', '/authorize')
  const reopened = await host.restore(s.url, store)
  assert.equal(await reopened.accessToken(), token)
  assert.ok((await toolNames(reopened, s.url)).includes('echo'))
  assert.equal(await s.count('GET', '/authorize'), authorizations, 'no new sign-in')
  await reopened.disconnect()
  assert.equal(store.map.has(host.sessionKey(s.url)), false, 'disconnect forgets it')
  assert.equal(await host.restore(s.url, store), null)
})

test(`[${host.name}] a store that fails to save a refresh says store_error and loses no token`, async () => {
  const s = await server(DUE_SOON)
  let broken = false
  const store = mapStore()
  const set = store.set
  store.set = async (key, value) => {
    if (broken) throw new Error('safeStorage unavailable')
    return set(key, value)
  }
  const connection = await host.signIn(s.url, { store })
  const first = await connection.accessToken()
  broken = true
  await sleep(UNTIL_DUE_MS)
  await assert.rejects(connection.accessToken(), (error) => {
    assert.equal(error.code, 'store_error')
    assert.match(error.message, /safeStorage unavailable/)
    return true
  })
  // The refreshed tokens stayed in memory: the next call uses them, with no new
  // refresh, and they work.
  const second = await connection.accessToken()
  assert.notEqual(second, first)
  assert.equal(await s.count('POST', '/token'), 2)
  assert.ok((await toolNames(connection, s.url)).includes('echo'))
  // Once the store works again, the latest grant is saved and can be reopened.
  broken = false
  const third = await connection.refresh()
  assert.equal(await (await host.restore(s.url, store)).accessToken(), third)
})

test(`[${host.name}] a store callback that throws or rejects says store_error`, async () => {
  const throwing = mapStore()
  throwing.get = () => {
    throw new Error('keychain is locked')
  }
  await assert.rejects(host.restore('https://mcp.example.com/mcp', throwing), (error) => {
    assert.equal(error.code, 'store_error')
    assert.match(error.message, /keychain is locked/)
    return true
  })
  const rejecting = mapStore()
  rejecting.get = async () => {
    throw new Error('disk on fire')
  }
  await assert.rejects(host.restore('https://mcp.example.com/mcp', rejecting), (error) => {
    assert.equal(error.code, 'store_error')
    assert.match(error.message, /disk on fire/)
    return true
  })
})

test(`[${host.name}] bad input and unreachable servers fail with stable codes`, async () => {
  await assert.rejects(host.signIn('http://mcp.example.com/mcp'), (error) => {
    assert.equal(error.code, 'invalid_config')
    assert.match(error.message, /https/)
    return true
  })
  const gone = await server()
  await gone.stop()
  await rejectsWith(host.signIn(gone.url), 'network_error')
})

test(`[${host.name}] international domain names are sent as punycode`, async () => {
  // The browser package leaves Unicode IDNA tables out and has the browser's URL
  // parser convert such names; the native build converts them itself. Same result.
  const url = new URL(
    await host.manualAuthorizationUrl({
      clientId: 'app',
      authorizationUrl: 'https://bücher.example/authorize',
      tokenUrl: 'https://bücher.example/token',
      serverUrl: 'https://bücher.example/mcp',
    }),
  )
  assert.equal(url.origin, 'https://xn--bcher-kva.example')
  assert.equal(url.pathname, '/authorize')
  assert.equal(url.searchParams.get('resource'), 'https://xn--bcher-kva.example/mcp')
  assert.equal(url.searchParams.get('client_id'), 'app')
})
