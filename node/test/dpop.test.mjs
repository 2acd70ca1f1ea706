import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { OAuthClient } from '../index.mjs'
import { startServer, headlessBrowser, toolNames, mapStore } from './helpers.mjs'

// DPoP (RFC 9449) through the addon: the test server advertises it, requires
// proofs from this client (it registers as dpop_bound_access_tokens) and demands
// nonces at the token endpoint and at the MCP endpoint.
const servers = []
after(async () => {
  await Promise.all(servers.map((s) => s.stop()))
})

async function dpopServer() {
  const server = await startServer(['--dpop', '--dpop-nonce'])
  servers.push(server)
  return server
}

const statuses = (server, path) => server.requests.filter((r) => r.path === path).map((r) => r.status)

test('tokens are bound to the connection key; proofs answer both nonces; a restart keeps the key', async () => {
  const server = await dpopServer()
  const store = mapStore()
  const options = { clientName: 'node dpop test', openBrowser: headlessBrowser, callbackTimeoutMs: 20_000, store }
  const connection = await new OAuthClient(options).connect({ kind: 'dynamic', serverUrl: server.url })
  assert.ok((await toolNames(connection.fetch, server.url)).includes('echo'))
  await server.count('POST', '/mcp')
  assert.deepEqual(statuses(server, '/token'), [400, 200], 'one use_dpop_nonce at the token endpoint')
  // The probe, then one use_dpop_nonce at the MCP endpoint, then the answer.
  assert.deepEqual(statuses(server, '/mcp'), [401, 401, 200])
  const saved = JSON.parse(store.map.get(`session/${server.url}`))
  assert.equal(saved.session.tokens.token_type, 'DPoP')
  assert.ok(saved.session.dpop.key.private_key, 'the key is kept with the session in the store')

  // The token alone is useless.
  const token = await connection.accessToken()
  const plain = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  })
  assert.equal(plain.status, 401)

  // A refresh is proven too, and an app restart finds the same key.
  assert.notEqual(await connection.refresh(), token)
  const restored = await new OAuthClient(options).connection(server.url)
  assert.ok((await toolNames(restored.fetch, server.url)).includes('echo'))
  assert.equal(JSON.parse(store.map.get(`session/${server.url}`)).session.dpop.key.public_jwk.x, saved.session.dpop.key.public_jwk.x)
})

test('dpop: false gets bearer tokens from the same server', async () => {
  const server = await dpopServer()
  const client = new OAuthClient({ clientName: 'node dpop test', openBrowser: headlessBrowser, callbackTimeoutMs: 20_000, dpop: false })
  const connection = await client.connect({ kind: 'dynamic', serverUrl: server.url })
  assert.ok((await toolNames(connection.fetch, server.url)).includes('echo'))
  assert.deepEqual(statuses(server, '/token'), [200])
})
