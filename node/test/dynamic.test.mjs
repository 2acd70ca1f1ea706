import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { OAuthClient, Connection } from '../index.mjs'
import { startServer, headlessBrowser, toolNames } from './helpers.mjs'

let server
before(async () => {
  server = await startServer()
})
after(async () => {
  await server?.stop()
})

test('the dynamic flow signs in through a JS openBrowser acting as a headless user agent', async () => {
  const opened = []
  const client = new OAuthClient({
    clientName: 'node test',
    openBrowser: async (url) => {
      opened.push(url)
      await headlessBrowser(url)
    },
    callbackTimeoutMs: 20_000,
  })
  const connection = await client.connect({ kind: 'dynamic', serverUrl: server.url })
  assert.ok(connection instanceof Connection)
  assert.equal(connection.id, server.url)
  assert.equal(opened.length, 1)
  const authorize = new URL(opened[0])
  assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256')
  assert.match(authorize.searchParams.get('redirect_uri'), /^http:\/\/127\.0\.0\.1:\d+\/callback$/)

  const token = await connection.accessToken()
  assert.ok(token.length > 10)
  assert.equal(await connection.accessToken(), token, 'a valid token is reused')

  const status = await connection.status()
  assert.equal(status.state, 'connected')
  assert.ok(status.expiresAt > Date.now() + 3_000_000, 'expiresAt is in milliseconds, about an hour ahead')

  assert.deepEqual((await toolNames(connection.fetch, server.url)).includes('echo'), true)

  // Without a bearer the same request is refused: fetch really added it.
  const bare = await fetch(server.url, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })
  assert.equal(bare.status, 401)

  assert.deepEqual(await client.connectionIds(), [server.url])
  await connection.disconnect()
  assert.equal(await client.connection(server.url), null)
})

test('an openBrowser that throws fails the sign-in with browser_failed', async () => {
  const client = new OAuthClient({
    clientName: 'node test',
    openBrowser: () => {
      throw new Error('no browser here')
    },
    callbackTimeoutMs: 20_000,
  })
  await assert.rejects(client.connect({ kind: 'dynamic', serverUrl: server.url }), (error) => {
    assert.ok(error instanceof Error)
    assert.equal(error.code, 'browser_failed')
    assert.match(error.message, /no browser here/)
    return true
  })
})

test('bad options throw coded errors', async () => {
  assert.throws(
    () => new OAuthClient({ clientName: 'x', storePath: '/tmp/x.json', store: { get() {}, set() {}, delete() {} } }),
    (error) => error.code === 'invalid_argument',
  )
  const client = new OAuthClient({ clientName: 'x', openBrowser: () => {} })
  assert.throws(() => client.connect({ kind: 'magic', serverUrl: server.url }), (error) => error.code === 'invalid_argument')
  await assert.rejects(
    client.connect({ kind: 'dynamic', serverUrl: 'http://mcp.example.com/mcp' }),
    (error) => error.code === 'invalid_config' && /https/.test(error.message),
  )
})
