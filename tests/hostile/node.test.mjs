// Hostile inputs against the Node addon (issue 10): `connection.fetch` must not
// hand the token to another origin or a plain-http alias of the server, and a JS
// store callback that never settles must fail with a code, not hang every call.
// Runs under `node --test` after scripts/test-node.sh built the addon and the
// test server (scripts/test-hostile.sh does both).
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { OAuthClient } from '../../node/index.mjs'
import { startServer, headlessBrowser, mapStore } from '../../node/test/helpers.mjs'

let server
let bystander
let seenByBystander = []
before(async () => {
  server = await startServer()
  bystander = http.createServer((req, res) => {
    seenByBystander.push({ url: req.url, authorization: req.headers.authorization })
    res.end('{}')
  })
  await new Promise((resolve) => bystander.listen(0, '127.0.0.1', resolve))
})
after(async () => {
  await server?.stop()
  bystander?.close()
})

test('fetch refuses to send the token anywhere but its server origin', async () => {
  const connection = await new OAuthClient({ clientName: 'hostile', openBrowser: headlessBrowser, callbackTimeoutMs: 20_000 })
    .connect({ kind: 'dynamic', serverUrl: server.url })
  const port = new URL(server.url).port
  const targets = [
    `http://127.0.0.1:${bystander.address().port}/steal`,
    `http://0.0.0.0:${port}/mcp`,
    `http://[::ffff:127.0.0.1]:${port}/mcp`,
    `http://localhost:${port}/mcp`,
  ]
  for (const url of targets) {
    await assert.rejects(connection.fetch(url, { method: 'POST', body: '{}' }), (error) => {
      assert.equal(error.code, 'origin_not_allowed', `${url}: ${error.message}`)
      return true
    })
  }
  assert.deepEqual(seenByBystander, [], 'the bystander received nothing')
})

test('a store callback that never settles fails with store_timeout instead of hanging', async () => {
  const store = mapStore()
  store.get = () => new Promise(() => {})
  const client = new OAuthClient({ clientName: 'hostile', store, storeTimeoutMs: 300 })
  const started = Date.now()
  await assert.rejects(client.connection('https://mcp.example.com/mcp'), (error) => {
    assert.equal(error.code, 'store_timeout', error.message)
    return true
  })
  assert.ok(Date.now() - started < 10_000)
})
