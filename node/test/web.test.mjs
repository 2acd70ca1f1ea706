// Web-backend sign-in from Node: begin on one OAuthClient, the user's browser
// (a fetch that stops at the backend's callback), complete on another, in both
// pending modes; every way a callback can be wrong, with its code; the callback
// page; seal keys. The Express + Chromium + PostgreSQL run is test/web/.
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { OAuthClient, callbackPage, generateSealKey } from '../index.mjs'
import { startServer, toolNames } from './helpers.mjs'

const REDIRECT = 'http://127.0.0.1:9/oauth/callback'
const sealKeys = [{ id: '2025-01', key: generateSealKey() }]

let server
before(async () => {
  server = await startServer(['--token-lifetime', '63'])
})
after(async () => {
  await server?.stop()
})

/** A Map store with the atomic `take` of the store contract. */
function store(map = new Map()) {
  return {
    map,
    get: (key) => map.get(key) ?? null,
    set: (key, value) => {
      map.set(key, value)
    },
    delete: (key) => {
      map.delete(key)
    },
    keys: () => [...map.keys()],
    take: (key) => {
      const value = map.get(key) ?? null
      map.delete(key)
      return value
    },
  }
}

const backend = (options) => new OAuthClient({ clientName: 'web backend', sealKeys, ...options })

function begin(client, { subject = 'user-42', connectionId = 'user-42/test' } = {}) {
  return client.begin({ preset: { kind: 'dynamic', serverUrl: server.url }, redirectUri: REDIRECT, subject, connectionId })
}

/** The user's browser: consent happens at the test server; returns the callback URL. */
async function browser(started) {
  const answer = await fetch(started.authorizationUrl, { redirect: 'manual', signal: AbortSignal.timeout(10_000) })
  assert.equal(answer.status, 302)
  const callback = answer.headers.get('location')
  assert.ok(callback.startsWith(REDIRECT), callback)
  return callback
}

async function rejectsWith(promise, code, connectionId) {
  await assert.rejects(promise, (error) => {
    assert.equal(error.code, code, error.message)
    assert.equal(error.connectionId, connectionId)
    return true
  })
}

test('stored mode: begin on one instance, complete on another; a replay is state_mismatch', async () => {
  const shared = store()
  const a = backend({ store: shared })
  const b = backend({ store: shared })
  const started = await begin(a)
  assert.equal(started.state.length, 22)
  assert.ok(started.expiresAt > Date.now() + 590_000 && started.expiresAt <= Date.now() + 600_000)
  assert.ok(shared.map.has(`pending/${started.state}`))
  assert.ok(!shared.map.get(`pending/${started.state}`).includes('code_verifier'), 'sealed at rest')
  const callbackUrl = await browser(started)
  const connection = await b.complete({ callbackUrl, subject: 'user-42' })
  assert.equal(connection.id, 'user-42/test')
  assert.ok((await toolNames(connection.fetch, server.url)).includes('echo'))
  assert.ok(![...shared.map.keys()].some((k) => k.startsWith('pending/')), 'burned')
  const before = [...shared.map.entries()]
  await rejectsWith(a.complete({ callbackUrl, subject: 'user-42' }), 'state_mismatch', undefined)
  assert.deepEqual([...shared.map.entries()], before, 'nothing stored')
})

test('sealed mode: nothing kept between begin and complete; a replay is refused by the server', async () => {
  const a = backend({ store: store(), pendingSignIns: 'sealed' })
  const bStore = store()
  const b = backend({ store: bStore, pendingSignIns: 'sealed' })
  const started = await begin(a)
  assert.match(started.state, /^s1\.2025-01\./)
  const callbackUrl = await browser(started)
  const connection = await b.complete({ callbackUrl, subject: 'user-42' })
  assert.ok((await connection.accessToken()).length > 0)
  const before = [...bStore.map.entries()]
  await rejectsWith(b.complete({ callbackUrl, subject: 'user-42' }), 'invalid_grant', 'user-42/test')
  assert.deepEqual([...bStore.map.entries()], before, 'nothing stored')
})

test('begin and complete report the steps of a sign-in to onProgress, as connect does', async () => {
  const began = []
  const completed = []
  const a = backend({ store: store(), pendingSignIns: 'sealed', onProgress: (event) => began.push(event) })
  const b = backend({ store: store(), pendingSignIns: 'sealed', onProgress: (event) => completed.push(event) })
  const callbackUrl = await browser(await begin(a))
  await b.complete({ callbackUrl, subject: 'user-42' })
  // Events reach JavaScript through a thread-safe function: wait for the last.
  for (let i = 0; i < 100 && !completed.some((e) => e.step === 'signed_in'); i++) await sleep(20)
  const steps = (events) => events.map((e) => (e.step === 'callback' ? `callback ${e.accepted}` : e.status ? `${e.step} ${e.status}` : e.step))
  assert.deepEqual(steps(began), ['probe 401', 'discovery 200', 'discovery 200', 'registration 201'])
  assert.deepEqual(steps(completed), ['callback true', 'token 200', 'signed_in'])
})

test('forged, expired and cross-user callbacks fail with their own codes and store nothing', async () => {
  for (const pendingSignIns of ['stored', 'sealed']) {
    const shared = store()
    const client = backend({ store: shared, pendingSignIns, signInTtlMs: 1_500 })
    const started = await begin(client)
    const callbackUrl = await browser(started)
    const forged = callbackUrl.replace(started.state, `${started.state.slice(0, -4)}AAAA`)
    await rejectsWith(client.complete({ callbackUrl: forged, subject: 'user-42' }), 'state_mismatch', undefined)
    await rejectsWith(client.complete({ callbackUrl: 'not a url', subject: 'user-42' }), 'invalid_callback', undefined)
    await rejectsWith(client.complete({ callbackUrl, subject: 'mallory' }), 'subject_mismatch', 'user-42/test')

    const late = await begin(client)
    const lateCallback = await browser(late)
    await sleep(2_100)
    await rejectsWith(client.complete({ callbackUrl: lateCallback, subject: 'user-42' }), 'sign_in_expired', 'user-42/test')
    assert.equal(await client.connection('user-42/test'), null, `${pendingSignIns}: nothing stored`)
  }
})

test('begin checks its options before any request', async () => {
  const client = backend({ store: store() })
  const requests = server.requests.length
  const cases = [
    [{ preset: { kind: 'dynamic', serverUrl: server.url }, redirectUri: REDIRECT, connectionId: 'c' }, 'invalid_argument'],
    [{ preset: { kind: 'dynamic', serverUrl: server.url }, redirectUri: REDIRECT, subject: 'u' }, 'invalid_config'],
    [{ preset: { kind: 'other' }, redirectUri: REDIRECT, subject: 'u', connectionId: 'c' }, 'invalid_argument'],
    [{ redirectUri: REDIRECT, subject: 'u', connectionId: 'c' }, 'invalid_argument'],
  ]
  for (const [options, code] of cases) {
    await assert.rejects(Promise.resolve().then(() => client.begin(options)), (error) => error.code === code, JSON.stringify(options))
  }
  assert.throws(() => new OAuthClient({ clientName: 'x', pendingSignIns: 'sealed' }), { code: 'invalid_config' })
  assert.throws(() => new OAuthClient({ clientName: 'x', pendingSignIns: 'cookie' }), { code: 'invalid_argument' })
  assert.throws(() => new OAuthClient({ clientName: 'x', sealKeys: [{ id: 'k', key: 'c2hvcnQ' }] }), { code: 'invalid_seal_key' })
  assert.throws(() => new OAuthClient({ clientName: 'x', sealKeys: [] }), { code: 'invalid_seal_key' })
  assert.equal(server.requests.length, requests)
})

test('a store with neither take nor lock cannot burn a stored sign-in, and says so', async () => {
  const { take, ...plain } = store()
  assert.ok(take)
  const client = backend({ store: plain })
  const callbackUrl = await browser(await begin(client))
  await rejectsWith(client.complete({ callbackUrl, subject: 'user-42' }), 'store_error', undefined)
})

test('a store lock is taken and released through the JS callbacks', async () => {
  const events = []
  const { take, ...rest } = store()
  assert.ok(take)
  const locking = {
    ...rest,
    lock: async (key) => {
      events.push(`lock ${key}`)
      return async () => {
        events.push(`release ${key}`)
      }
    },
  }
  const client = backend({ store: locking })
  const started = await begin(client)
  const connection = await client.complete({ callbackUrl: await browser(started), subject: 'user-42' })
  assert.equal(connection.id, 'user-42/test')
  await sleep(100)
  const key = `take/pending/${started.state}`
  assert.deepEqual(events.slice(0, 2), [`lock ${key}`, `release ${key}`])
})

test('callbackPage posts the outcome to the exact origin, with a CSP allowing its one script', () => {
  const ok = callbackPage({ targetOrigin: 'https://app.example.com', connectionId: 'user-42/test' })
  assert.match(ok.headers['Content-Security-Policy'], /^default-src 'none'; script-src 'sha256-[A-Za-z0-9+/]+=*'/)
  assert.equal(ok.headers['Referrer-Policy'], 'no-referrer')
  assert.match(ok.html, /"connectionId":"user-42\/test"/)
  assert.match(ok.html, /"targetOrigin":"https:\/\/app.example.com"/)

  const error = Object.assign(new Error('no pending sign-in matches'), { code: 'state_mismatch' })
  const failed = callbackPage({ targetOrigin: 'http://localhost:3000', error })
  assert.match(failed.html, /"ok":false/)
  assert.match(failed.html, /"code":"state_mismatch"/)
  const uncoded = callbackPage({ targetOrigin: 'http://localhost:3000', error: new Error('db password is hunter2') })
  assert.doesNotMatch(uncoded.html, /hunter2/)
  assert.match(uncoded.html, /"code":"sign_in_failed"/)
  assert.throws(() => callbackPage({ targetOrigin: '*', connectionId: 'c' }), { code: 'invalid_config' })
  assert.throws(() => callbackPage({ targetOrigin: 'https://app.example.com' }), { code: 'invalid_argument' })
})

test('generateSealKey makes distinct 32-byte base64url keys', () => {
  const a = generateSealKey()
  assert.match(a, /^[A-Za-z0-9_-]{43}$/)
  assert.notEqual(a, generateSealKey())
})
