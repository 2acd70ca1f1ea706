import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { OAuthClient } from '../index.mjs'
import { startServer, headlessBrowser, toolNames } from './helpers.mjs'

const SECRET = 's3cr3t:/+ &é'
let server
before(async () => {
  server = await startServer([
    '--registration', 'closed',
    '--auth-methods', 'client_secret_basic',
    '--client-id', 'desktop-app',
    '--client-secret', SECRET,
  ])
})
after(async () => {
  await server?.stop()
})

const client = () =>
  new OAuthClient({ clientName: 'node test', openBrowser: headlessBrowser, callbackTimeoutMs: 20_000 })

test('closed registration: dynamic fails with registration_refused, pointing to the manual preset', async () => {
  await assert.rejects(client().connect({ kind: 'dynamic', serverUrl: server.url }), (error) => {
    assert.equal(error.code, 'registration_refused')
    assert.match(error.message, /manual/)
    return true
  })
})

test('the manual flow signs in with client_secret_basic (the only method the server accepts)', async () => {
  const connection = await client().connect({
    kind: 'manual',
    clientId: 'desktop-app',
    clientSecret: SECRET,
    authorizationUrl: server.authorizationUrl,
    tokenUrl: server.tokenUrl,
    serverUrl: server.url,
    scopes: 'mcp:read mcp:write',
    authMethod: 'client_secret_basic',
  })
  assert.equal(connection.id, server.url)
  assert.ok((await toolNames(connection.fetch, server.url)).includes('echo'))
})

test('a wrong secret fails with invalid_client, and no error quotes a secret', async () => {
  const wrong = 'wrong-secret-1234567890'
  await assert.rejects(
    client().connect({
      kind: 'manual',
      clientId: 'desktop-app',
      clientSecret: wrong,
      authorizationUrl: server.authorizationUrl,
      tokenUrl: server.tokenUrl,
      serverUrl: server.url,
      authMethod: 'client_secret_basic',
    }),
    (error) => {
      assert.equal(error.code, 'invalid_client')
      assert.ok(!error.message.includes(wrong) && !error.stack.includes(wrong))
      assert.ok(!error.message.includes(SECRET))
      return true
    },
  )
})
