// The callback-store lifecycle (restore, store_error, a failing save during a
// refresh) is in the suite shared with the browser package: tests/js/.
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, statSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { OAuthClient } from '../index.mjs'
import { startServer, headlessBrowser } from './helpers.mjs'

let server
before(async () => {
  // 4 s tokens are due for refresh half-way through their life, 2 s after issue.
  server = await startServer(['--token-lifetime', '4'])
})
after(async () => {
  await server?.stop()
})

const options = (store) => ({ clientName: 'node test', openBrowser: headlessBrowser, callbackTimeoutMs: 20_000, store })

test('a file store path keeps tokens in a 0600 file', async () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'mcp-oauth-node-')), 'tokens.json')
  const connection = await new OAuthClient({ ...options(), storePath: file }).connect({ kind: 'dynamic', serverUrl: server.url })
  assert.equal(statSync(file).mode & 0o777, 0o600)
  assert.ok(readFileSync(file, 'utf8').includes(await connection.accessToken()))
  const restored = await new OAuthClient({ clientName: 'other', storePath: file }).connection(server.url)
  assert.equal(await restored.accessToken(), await connection.accessToken())
})

test('an unreadable store file is moved aside and onProgress tells the host', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mcp-oauth-node-'))
  const file = path.join(dir, 'tokens.json')
  writeFileSync(file, '{ this is not JSON', { mode: 0o600 })
  const events = []
  const client = new OAuthClient({ ...options(), storePath: file, onProgress: (event) => events.push(event) })
  assert.equal(await client.connection(server.url), null, 'nothing usable was stored')
  // Events reach JavaScript through a queue of their own: give it a moment.
  for (let i = 0; i < 100 && !events.some((event) => event.step === 'store_moved_aside'); i++) {
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  const moved = events.filter((event) => event.step === 'store_moved_aside')
  assert.equal(moved.length, 1, JSON.stringify(events))
  const [event] = moved
  assert.equal(event.path, file)
  assert.match(path.basename(event.movedTo), /^tokens\.json\.broken-\d{8}T\d{6}Z$/)
  assert.ok(event.reason.length > 0)
  assert.equal(readFileSync(event.movedTo, 'utf8'), '{ this is not JSON', 'the old file is kept for the user')
  assert.ok(!readdirSync(dir).includes('tokens.json'), 'and the store starts empty')
})
