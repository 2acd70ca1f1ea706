// Acceptance: two backend processes (test/web/app.mjs) on one PostgreSQL and a
// rotating authorization server (the test server rotates refresh tokens and
// refuses a reused one). A sign-in begun on one process completes on the
// other; at token expiry, 100 concurrent tool calls spread over both make
// exactly one refresh, and all succeed. The table, read with psql, holds no
// readable token.
//
// Run by scripts/test-web-backend.sh (PostgreSQL, the test server).
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, execFileSync } from 'node:child_process'
import { createInterface } from 'node:readline'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { generateSealKey } from '../../index.mjs'
import { startServer } from '../helpers.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))
const TABLE = 'web_instances'
// Tokens live 80 s. Whether a client refreshes 60 s before expiry or half-way
// through a short token's life, 40 s in it is due, and the refreshed token is
// not due again for 20 s or more: the 100 calls below refresh exactly once.
const LIFETIME_S = 80
const DUE_AFTER_MS = 40_500
const CALLS = 100

let server
const children = []
const backends = []

function startBackend(options) {
  const child = spawn(process.execPath, [path.join(here, 'app.mjs')], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, BACKEND_OPTIONS: JSON.stringify(options) },
  })
  children.push(child)
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the backend did not start in 20 s')), 20_000)
    child.once('exit', (code) => reject(new Error(`the backend exited with ${code}`)))
    createInterface({ input: child.stdout }).once('line', (line) => {
      clearTimeout(timer)
      resolve(line.trim())
    })
  })
}

before(async () => {
  assert.ok(process.env.PGHOST, 'run through scripts/test-web-backend.sh (it starts PostgreSQL)')
  server = await startServer(['--token-lifetime', String(LIFETIME_S)])
  const options = { mcpUrl: server.url, sealKeys: [{ id: 'k1', key: generateSealKey() }], table: TABLE }
  backends.push(...(await Promise.all([startBackend(options), startBackend(options)])))
})

after(async () => {
  for (const child of children) {
    child.removeAllListeners('exit')
    child.kill('SIGTERM')
  }
  await server?.stop()
})

const cookie = { cookie: 'user=user-42' }

async function toolsVia(backend) {
  const response = await fetch(`${backend}/api/tools`, { headers: cookie, signal: AbortSignal.timeout(30_000) })
  const body = await response.json()
  assert.equal(response.status, 200, JSON.stringify(body))
  return body.tools
}

function psql(sql) {
  return execFileSync('psql', ['-At', '-c', sql], { encoding: 'utf8' })
}

test('two processes on one database: sign-in across them, then 100 calls when the token is due make one refresh', async () => {
  const [a, b] = backends
  // The user's browser, scripted: Connect on A, the server consents at once,
  // and the callback lands on B.
  const start = await fetch(`${a}/oauth/start`, { headers: cookie, redirect: 'manual' })
  const authorize = await fetch(start.headers.get('location'), { redirect: 'manual' })
  const callback = new URL(authorize.headers.get('location'))
  assert.equal(callback.origin, a, 'the server redirects to the redirect URI A registered')
  const page = await (await fetch(`${b}${callback.pathname}${callback.search}`, { headers: cookie })).text()
  assert.match(page, /"ok":true/, page)
  assert.ok((await toolsVia(a)).includes('echo'))
  assert.ok((await toolsVia(b)).includes('echo'))

  // The table as an operator sees it.
  const rows = psql(`SELECT key || ' ' || value FROM ${TABLE} ORDER BY key`).trim().split('\n')
  assert.ok(rows.some((row) => row.startsWith('session/user-42/test-server s1.k1.')), rows.join('\n'))
  for (const row of rows) {
    const [key, value] = row.split(' ')
    assert.match(value, /^s1\.k1\.[A-Za-z0-9_-]+$/, `${key} is sealed`)
    for (const readable of ['token', 'Bearer', 'client_id', server.origin]) {
      assert.ok(!value.includes(readable), `${key} shows ${readable}`)
    }
  }

  await sleep(DUE_AFTER_MS) // the access token is due for refresh
  const before = await server.count('POST', '/token', 0)
  const results = await Promise.allSettled(
    Array.from({ length: CALLS }, (_, i) => toolsVia(i % 2 === 0 ? a : b)),
  )
  const failures = results.filter((r) => r.status === 'rejected').map((r) => r.reason.message)
  assert.deepEqual(failures, [], `${failures.length} of ${CALLS} calls failed`)
  const refreshes = (await server.count('POST', '/token')) - before
  console.log(`${CALLS} concurrent tool calls over 2 processes with the token due: ${refreshes} refresh request(s)`)
  assert.equal(refreshes, 1, 'exactly one refresh across both processes')
  assert.ok(
    !server.requests.some((r) => r.path === '/token' && r.status !== 200),
    'no refresh token was ever reused',
  )
})
