import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { OAuthClient } from '../index.mjs'
import { startServer } from './helpers.mjs'

let server
before(async () => {
  server = await startServer()
})
after(async () => {
  await server?.stop()
})

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address()
      probe.close(() => resolve(port))
    })
    probe.once('error', reject)
  })
}

function canBind(port) {
  return new Promise((resolve) => {
    const probe = net.createServer()
    probe.once('error', () => resolve(false))
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)))
  })
}

test('aborting a pending connect rejects with cancelled and frees the loopback port', async () => {
  const port = await freePort()
  const controller = new AbortController()
  let opened
  const browserOpened = new Promise((resolve) => (opened = resolve))
  // The "user" never finishes in the browser.
  const client = new OAuthClient({ clientName: 'node test', callbackPort: port, openBrowser: (url) => opened(url) })
  const pending = client.connect({ kind: 'dynamic', serverUrl: server.url, signal: controller.signal })
  const url = await browserOpened
  assert.equal(new URL(url).searchParams.get('redirect_uri'), `http://127.0.0.1:${port}/callback`)
  assert.equal(await canBind(port), false, 'the listener holds the port while waiting')
  const started = Date.now()
  controller.abort()
  await assert.rejects(pending, (error) => {
    assert.equal(error.code, 'cancelled')
    return true
  })
  assert.ok(Date.now() - started < 2_000)
  assert.equal(await canBind(port), true, 'the port is free again')
})

test('an already aborted signal cancels at once', async () => {
  const client = new OAuthClient({ clientName: 'node test', openBrowser: () => assert.fail('must not open') })
  await assert.rejects(
    client.connect({ kind: 'dynamic', serverUrl: server.url, signal: AbortSignal.abort() }),
    (error) => error.code === 'cancelled',
  )
})

test('a sign-in nobody finishes times out with code timeout', async () => {
  const client = new OAuthClient({ clientName: 'node test', openBrowser: () => {}, callbackTimeoutMs: 300 })
  await assert.rejects(client.connect({ kind: 'dynamic', serverUrl: server.url }), (error) => error.code === 'timeout')
})
