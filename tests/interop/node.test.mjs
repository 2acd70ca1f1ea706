// The Node addon against oidc-provider: dynamic sign-in, inspect, 100 concurrent
// accessToken() at expiry, a fetch aborted while its refresh is in flight, a
// token without expires_in renewed on a 401, and revocation on disconnect.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { OAuthClient } from '../../node/index.mjs'
import { authorize } from './agent.mjs'
import { startProfile, wait } from './helpers.mjs'

function tempStore() {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-oauth-interop-node-')), 'tokens.json')
}

function storedTokens(store, connection) {
  const file = JSON.parse(fs.readFileSync(store, 'utf8'))
  return JSON.parse(file.entries[`session/${connection}`]).session.tokens
}

function client(storePath) {
  return new OAuthClient({
    clientName: 'mcp-oauth interop (node)',
    storePath,
    openBrowser: (url) => {
      authorize(url).catch((error) => console.error(`agent: ${error.message}`))
    },
    callbackTimeoutMs: 20_000,
  })
}

const toolsList = () => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', accept: 'application/json' },
  body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
})

test('dynamic sign-in, inspect before it, and revocation on disconnect', async () => {
  const server = await startProfile('default', { atTtl: 30 })
  try {
    const oauth = client(tempStore())
    const info = await oauth.inspect(server.resource)
    assert.equal(info.issuer, server.issuer)
    assert.equal(info.resource, server.resource)
    assert.equal(info.registration, 'open')
    assert.equal(info.clientSecretRequired, false)
    assert.deepEqual(info.resourceScopesSupported, ['mcp:read', 'mcp:write'])

    const connection = await oauth.connect({ kind: 'dynamic', serverUrl: server.resource })
    const response = await connection.fetch(server.resource, toolsList())
    assert.equal(response.status, 200)
    assert.equal((await response.json()).result.tools[0].name, 'echo')

    server.clear()
    const signedOut = await connection.disconnect()
    assert.equal(signedOut.revocation, 'revoked')
    assert.equal((await server.where({ event: 'grant.revoked' })).length, 1)
    assert.equal(await oauth.connection(server.resource), null)
  } finally {
    await server.stop()
  }
})

test('inspect tells a connect form what a manual client needs', async () => {
  const post = await startProfile('post')
  const closed = await startProfile('closed')
  try {
    const oauth = client(tempStore())
    const postInfo = await oauth.inspect(post.authorizationUrl)
    assert.equal(postInfo.issuer, post.issuer)
    assert.deepEqual(postInfo.tokenEndpointAuthMethodsSupported, ['client_secret_post'])
    assert.equal(postInfo.clientSecretRequired, true)
    assert.equal(postInfo.registration, 'absent')
    const closedInfo = await oauth.inspect(closed.resource)
    assert.equal(closedInfo.registration, 'closed')
    await assert.rejects(oauth.inspect('http://127.0.0.1:9/nothing'), (error) => {
      assert.ok(['metadata_not_found', 'network_error'].includes(error.code), error.code)
      return true
    })
  } finally {
    await Promise.all([post.stop(), closed.stop()])
  }
})

test('100 concurrent accessToken() at expiry of a 3 s token make one refresh', async () => {
  const server = await startProfile('rotating', { atTtl: 3 })
  try {
    const connection = await client(tempStore()).connect({ kind: 'dynamic', serverUrl: server.resource })
    await wait(3.5)
    server.clear()
    const tokens = await Promise.all(Array.from({ length: 100 }, () => connection.accessToken()))
    const refreshes = await server.refreshes()
    console.log(JSON.stringify({ callers: 100, refreshGrants: refreshes.ok, failedGrants: refreshes.failed, distinctTokens: new Set(tokens).size }))
    assert.deepEqual(refreshes, { ok: 1, failed: 0, errors: [] })
    assert.equal(new Set(tokens).size, 1)
    assert.equal(await server.call(tokens[0]), 200)
  } finally {
    await server.stop()
  }
})

test('a fetch aborted while its refresh is in flight: the rotated refresh token is stored, no reuse', async () => {
  // The server rotates the refresh token, then takes 1.5 s to answer.
  const server = await startProfile('rotating', { atTtl: 3, refreshDelayMs: 1500 })
  try {
    const store = tempStore()
    const connection = await client(store).connect({ kind: 'dynamic', serverUrl: server.resource })
    const original = storedTokens(store, server.resource).refresh_token
    await wait(3.5)
    server.clear()
    const controller = new AbortController()
    const aborted = connection.fetch(server.resource, { ...toolsList(), signal: controller.signal })
    await wait(0.4)
    controller.abort()
    await assert.rejects(aborted, (error) => error.name === 'AbortError' || error.code === 'cancelled')
    // The next call arrives while the refresh is still in flight.
    const response = await connection.fetch(server.resource, toolsList())
    assert.equal(response.status, 200)

    const refreshes = await server.refreshes()
    const stored = storedTokens(store, server.resource).refresh_token
    console.log(JSON.stringify({ refreshGrants: refreshes.ok, failedGrants: refreshes.failed, rotatedRefreshTokenStored: stored !== original }))
    assert.deepEqual(refreshes, { ok: 1, failed: 0, errors: [] }, 'one refresh, no reuse of the old refresh token')
    assert.notEqual(stored, original, 'the rotated refresh token was saved')
    assert.equal((await server.where({ event: 'grant.revoked' })).length, 0)
    // The stored refresh token is the live one.
    server.clear()
    assert.equal((await connection.refresh()).length > 0, true)
    assert.deepEqual(await server.refreshes(), { ok: 1, failed: 0, errors: [] })
  } finally {
    await server.stop()
  }
})

test('no expires_in: a token the resource rejects is refreshed and the request retried', async () => {
  const server = await startProfile('noexp', { atTtl: 3 })
  try {
    const connection = await client(tempStore()).connect({ kind: 'dynamic', serverUrl: server.resource })
    const status = await connection.status()
    assert.equal(status.state, 'connected')
    assert.equal(status.expiresAt, undefined, 'the expiry is unknown, not made up')
    await wait(3.5)
    server.clear()
    const response = await connection.fetch(server.resource, toolsList())
    assert.equal(response.status, 200)
    assert.deepEqual(
      (await server.where({ event: 'resource' })).map((e) => e.status),
      [401, 200],
    )
    assert.deepEqual(await server.refreshes(), { ok: 1, failed: 0, errors: [] })
  } finally {
    await server.stop()
  }
})
