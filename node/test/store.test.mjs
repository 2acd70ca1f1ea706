// The callback-store lifecycle (restore, store_error, a failing save during a
// refresh) is in the suite shared with the browser package: tests/js/.
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, statSync, readFileSync } from 'node:fs'
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
