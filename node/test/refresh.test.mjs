import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { OAuthClient } from '../index.mjs'
import { startServer, headlessBrowser, toolNames } from './helpers.mjs'

// Tokens live 4 s and are refreshed half-way through their life (a lifetime under
// twice the 60 s skew): due 2 s after issue.
const LIFETIME = '4'
const UNTIL_DUE_MS = 2_500
const servers = []
after(async () => {
  await Promise.all(servers.map((s) => s.stop()))
})

async function signedIn(args = []) {
  const server = await startServer(['--token-lifetime', LIFETIME, ...args])
  servers.push(server)
  const client = new OAuthClient({ clientName: 'node test', openBrowser: headlessBrowser, callbackTimeoutMs: 20_000 })
  const connection = await client.connect({ kind: 'dynamic', serverUrl: server.url })
  assert.equal(await server.count('POST', '/token'), 1, 'one code exchange')
  return { server, connection }
}

test('an access token due for refresh is refreshed, and the new one works', async () => {
  const { server, connection } = await signedIn()
  const first = await connection.accessToken()
  await sleep(UNTIL_DUE_MS)
  const second = await connection.accessToken()
  assert.notEqual(second, first)
  assert.equal(await server.count('POST', '/token'), 2)
  assert.ok((await toolNames(connection.fetch, server.url)).includes('echo'))
  const third = await connection.refresh()
  assert.notEqual(third, second)
  assert.equal(await server.count('POST', '/token'), 3)
  assert.equal((await connection.status()).state, 'connected')
})

test('100 concurrent accessToken() calls at expiry make one refresh request', async () => {
  const { server, connection } = await signedIn()
  const before = await connection.accessToken()
  await sleep(UNTIL_DUE_MS)
  const tokens = await Promise.all(Array.from({ length: 100 }, () => connection.accessToken()))
  assert.equal(new Set(tokens).size, 1, 'every caller got the same token')
  assert.notEqual(tokens[0], before)
  assert.equal(await server.count('POST', '/token'), 2, 'the code exchange and exactly one refresh')
})

test('a rejected refresh is reauth_required naming the connection, and so is the status', async () => {
  const { server, connection } = await signedIn(['--refresh-fails'])
  await sleep(UNTIL_DUE_MS)
  await assert.rejects(connection.accessToken(), (error) => {
    assert.equal(error.code, 'reauth_required')
    assert.equal(error.connectionId, server.url)
    assert.match(error.message, /invalid_grant/)
    return true
  })
  assert.equal((await connection.status()).state, 'reauth_required')
})
