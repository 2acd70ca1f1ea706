// The `mcp-oauth` CLI against oidc-provider, one profile per test: sign-in,
// refresh after expiry, manual presets, inspect, revocation on logout, and 20
// processes refreshing at once on a rotating, reuse-detecting server.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { agentCommand, cli, startProfile, wait } from './helpers.mjs'

function tempStore() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-oauth-interop-'))
  return path.join(dir, 'tokens.json')
}

/** The stored session of `connection` in a CLI store file. */
function storedSession(store, connection) {
  const file = JSON.parse(fs.readFileSync(store, 'utf8'))
  return JSON.parse(file.entries[`session/${connection}`]).session
}

async function login(server, store, extra = []) {
  const result = await cli(store, ['login', server.resource, '--browser', agentCommand, '--timeout', '20', ...extra])
  assert.equal(result.code, 0, `login failed: ${result.stderr}`)
  return result
}

async function token(server, store) {
  const result = await cli(store, ['token', server.resource])
  assert.equal(result.code, 0, `token failed: ${result.stderr}`)
  return result.stdout.trim()
}

async function statusOf(store) {
  const result = await cli(store, ['--json', 'status'])
  assert.equal(result.code, 0, result.stderr)
  return JSON.parse(result.stdout)[0].status
}

test('defaults: dynamic sign-in, refresh after expiry with the granted scope, inspect, revocation on logout', async () => {
  const server = await startProfile('default', { atTtl: 5 })
  try {
    const store = tempStore()
    await login(server, store)
    // oidc-provider granted the resource scopes without offline_access (no
    // prompt=consent): refreshing must not ask for it again.
    const first = storedSession(store, server.resource)
    assert.equal(first.tokens.scope, 'mcp:read mcp:write')
    assert.equal(first.grant.scope, 'mcp:read mcp:write offline_access')
    assert.equal(await server.call(await token(server, store)), 200)

    await wait(5.5)
    server.clear()
    const fresh = await token(server, store)
    assert.equal(await server.call(fresh), 200)
    assert.deepEqual(await server.refreshes(), { ok: 1, failed: 0, errors: [] })
    assert.equal((await statusOf(store)).state, 'connected')

    const inspected = await cli(store, ['--json', 'inspect', server.resource])
    assert.equal(inspected.code, 0, inspected.stderr)
    const info = JSON.parse(inspected.stdout)
    assert.equal(info.issuer, server.issuer)
    assert.equal(info.registration, 'open')
    assert.equal(info.client_secret_required, false)
    assert.ok(info.token_endpoint_auth_methods_supported.includes('none'))
    assert.ok(info.scopes_supported.includes('offline_access'))

    const { tokens, grant } = storedSession(store, server.resource)
    server.clear()
    const logout = await cli(store, ['--json', 'logout', server.resource])
    assert.equal(logout.code, 0, logout.stderr)
    assert.equal(JSON.parse(logout.stdout).logged_out[0].revocation, 'revoked')
    const revocations = await server.where({ event: 'request', path: '/token/revocation' })
    assert.equal(revocations[0].status, 200)
    assert.equal((await server.where({ event: 'grant.revoked' })).length, 1)
    // The grant is dead at the server, not only forgotten here.
    const reuse = await fetch(server.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: grant.client.client_id }),
    })
    assert.equal(reuse.status, 400)
    assert.equal((await reuse.json()).error, 'invalid_grant')
    assert.equal((await cli(store, ['token', server.resource])).code, 3, 'signed out')
  } finally {
    await server.stop()
  }
})

test('rotating refresh tokens with reuse detection: 20 processes at expiry refresh once, three rounds', async () => {
  // 10 s tokens: the refreshed token is not due for 5 s, more than 20 processes
  // need to start and finish on a busy 2-core machine.
  const server = await startProfile('rotating', { atTtl: 10 })
  try {
    const store = tempStore()
    await login(server, store)
    for (let round = 1; round <= 3; round++) {
      await wait(10.5)
      server.clear()
      const started = Date.now()
      const runs = await Promise.all(Array.from({ length: 20 }, () => cli(store, ['token', server.resource])))
      for (const run of runs) assert.equal(run.code, 0, run.stderr)
      const tokens = runs.map((run) => run.stdout.trim())
      const seconds = (Date.now() - started) / 1000
      const statuses = await Promise.all(tokens.map((t) => server.call(t)))
      const refreshes = await server.refreshes()
      console.log(
        JSON.stringify({
          round,
          processes: 20,
          seconds,
          refreshGrants: refreshes.ok,
          failedGrants: refreshes.failed,
          workingTokens: statuses.filter((s) => s === 200).length,
          distinctTokens: new Set(tokens).size,
        }),
      )
      assert.deepEqual(refreshes, { ok: 1, failed: 0, errors: [] }, `round ${round}`)
      assert.deepEqual(statuses, Array(20).fill(200), `round ${round}`)
      assert.equal(new Set(tokens).size, 1, 'every process printed the one refreshed token')
      assert.equal((await statusOf(store)).state, 'connected', `still signed in after round ${round}`)
      assert.equal((await server.where({ event: 'grant.revoked' })).length, 0)
    }
  } finally {
    await server.stop()
  }
})

test('closed registration: dynamic sign-in says to use the manual preset; manual Basic signs in and refreshes', async () => {
  const server = await startProfile('closed', { atTtl: 5 })
  try {
    const store = tempStore()
    const dynamic = await cli(store, ['login', server.resource, '--browser', agentCommand, '--timeout', '20'])
    assert.equal(dynamic.code, 1)
    assert.match(dynamic.stderr, /registration_refused/)
    assert.match(dynamic.stderr, /manual preset/)

    const inspected = JSON.parse((await cli(store, ['--json', 'inspect', server.authorizationUrl])).stdout)
    assert.equal(inspected.registration, 'closed')

    const { client_id, client_secret } = server.client
    server.clear()
    await login(server, store, ['--client-id', client_id, '--client-secret', client_secret, '--auth-url', server.authorizationUrl, '--token-url', server.tokenUrl, '--scopes', 'mcp:read mcp:write offline_access'])
    const grants = await server.where({ event: 'grant' })
    assert.deepEqual(grants.map((g) => [g.grantType, g.ok]), [['authorization_code', true]])
    assert.equal(storedSession(store, server.resource).grant.client.auth_method, 'client_secret_basic')
    await wait(5.5)
    server.clear()
    assert.equal(await server.call(await token(server, store)), 200)
    assert.deepEqual(await server.refreshes(), { ok: 1, failed: 0, errors: [] })
  } finally {
    await server.stop()
  }
})

test('client_secret_post only: a manual sign-in without issuer succeeds on the first try and refreshes', async () => {
  const server = await startProfile('post', { atTtl: 5 })
  try {
    const store = tempStore()
    const { client_id, client_secret } = server.client
    await login(server, store, ['--client-id', client_id, '--client-secret', client_secret, '--auth-url', server.authorizationUrl, '--token-url', server.tokenUrl, '--scopes', 'mcp:read mcp:write offline_access'])
    const tokenRequests = await server.where({ event: 'request', path: '/token' })
    assert.deepEqual(tokenRequests.map((r) => r.status), [200], 'one token request, accepted')
    assert.equal((await server.where({ event: 'grant', ok: false })).length, 0)
    const session = storedSession(store, server.resource)
    assert.equal(session.grant.client.auth_method, 'client_secret_post')
    assert.equal(session.grant.issuer, server.issuer, 'the issuer was found from the authorization URL')

    await wait(5.5)
    server.clear()
    assert.equal(await server.call(await token(server, store)), 200)
    assert.deepEqual(await server.refreshes(), { ok: 1, failed: 0, errors: [] })
  } finally {
    await server.stop()
  }
})

test('no expires_in: the status says the expiry is unknown instead of a made-up time', async () => {
  const server = await startProfile('noexp', { atTtl: 3 })
  try {
    const store = tempStore()
    await login(server, store)
    const status = await statusOf(store)
    assert.equal(status.state, 'connected')
    assert.equal(status.expires_at, null)
    const described = await cli(store, ['status'])
    assert.match(described.stdout, /did not say when the token expires/)
  } finally {
    await server.stop()
  }
})
