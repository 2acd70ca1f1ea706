import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { mkdtempSync, statSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { OAuthClient } from '../index.mjs'
import { startServer, headlessBrowser, mapStore, toolNames } from './helpers.mjs'

let server
before(async () => {
  // 4 s tokens are due for refresh half-way through their life, 2 s after issue.
  server = await startServer(['--token-lifetime', '4'])
})
after(async () => {
  await server?.stop()
})

const options = (store) => ({ clientName: 'node test', openBrowser: headlessBrowser, callbackTimeoutMs: 20_000, store })

test('a JS callback store keeps the connection, and a new client restores it without signing in', async () => {
  const store = mapStore()
  const connection = await new OAuthClient(options(store)).connect({ kind: 'dynamic', serverUrl: server.url })
  assert.ok(store.map.has(`session/${server.url}`))
  const token = await connection.accessToken()
  assert.ok(store.map.get(`session/${server.url}`).includes(token), 'the stored session holds the token')

  const authorizations = await server.count('GET', '/authorize')
  const restored = await new OAuthClient(options(store)).connection(server.url)
  assert.ok(restored)
  assert.equal(await restored.accessToken(), token)
  assert.ok((await toolNames(restored.fetch, server.url)).includes('echo'))
  assert.equal(await server.count('GET', '/authorize'), authorizations, 'no new sign-in')
  assert.deepEqual(await new OAuthClient(options(store)).connectionIds(), [server.url])
})

test('a store callback that throws gives a clear store_error', async () => {
  const store = mapStore()
  store.get = () => {
    throw new Error('keychain is locked')
  }
  await assert.rejects(new OAuthClient(options(store)).connect({ kind: 'dynamic', serverUrl: server.url }), (error) => {
    assert.equal(error.code, 'store_error')
    assert.match(error.message, /get callback threw.*keychain is locked/)
    return true
  })

  const rejecting = mapStore()
  rejecting.get = async () => {
    throw new Error('disk on fire')
  }
  await assert.rejects(
    new OAuthClient(options(rejecting)).connection('anything'),
    (error) => error.code === 'store_error' && /get callback rejected.*disk on fire/.test(error.message),
  )
})

test('a failing set during refresh is reported, and no token is lost', async () => {
  // The callbacks are taken when the client is built, so the switch is inside.
  let broken = false
  const store = mapStore()
  const set = store.set
  store.set = async (key, value) => {
    if (broken) throw new Error('safeStorage unavailable')
    return set(key, value)
  }
  const connection = await new OAuthClient(options(store)).connect({ kind: 'dynamic', serverUrl: server.url })
  const refreshes = await server.count('POST', '/token')
  const first = await connection.accessToken()
  broken = true
  await sleep(2_500) // due for refresh
  await assert.rejects(connection.accessToken(), (error) => {
    assert.equal(error.code, 'store_error')
    assert.match(error.message, /set callback .*safeStorage unavailable/)
    return true
  })
  // The refreshed tokens stayed in memory: the next call uses them, with no new
  // refresh, and they work.
  const second = await connection.accessToken()
  assert.notEqual(second, first)
  assert.equal(await server.count('POST', '/token'), refreshes + 1)
  assert.ok((await toolNames(connection.fetch, server.url)).includes('echo'))

  // Once the store works again, the latest grant is persisted and restorable.
  broken = false
  const third = await connection.refresh()
  const restored = await new OAuthClient(options(store)).connection(server.url)
  assert.equal(await restored.accessToken(), third)
})

test('a file store path keeps tokens in a 0600 file', async () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'mcp-oauth-node-')), 'tokens.json')
  const connection = await new OAuthClient({ ...options(), storePath: file }).connect({ kind: 'dynamic', serverUrl: server.url })
  assert.equal(statSync(file).mode & 0o777, 0o600)
  assert.ok(readFileSync(file, 'utf8').includes(await connection.accessToken()))
  const restored = await new OAuthClient({ clientName: 'other', storePath: file }).connection(server.url)
  assert.equal(await restored.accessToken(), await connection.accessToken())
})
