// The example Express authorization server (test/express-as/app.mjs, written
// only against the `server` export), driven over real HTTP: which redirects it
// accepts, what it refuses without a redirect, scope refusal at authorize, PKCE,
// single-use codes, refresh rotation with replay revocation, the existing web
// client, URL client ids.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import { startApp } from './express-as/app.mjs'
import { signIn } from './express-as/headless-user.mjs'

let app
before(async () => {
  app = await startApp()
})
after(async () => {
  await app?.close()
})

const verifier = randomBytes(32).toString('base64url')
const challenge = createHash('sha256').update(verifier).digest('base64url')

function authorizationUrl(redirectUri, { clientId = 'mcp-agent', scope, state = 'st-1' } = {}) {
  const url = new URL(app.authorizationUrl)
  const params = {
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri,
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    resource: app.mcpUrl,
    ...(scope ? { scope } : {}),
  }
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value)
  return url.href
}

async function get(url) {
  const response = await fetch(url, { redirect: 'manual' })
  return { status: response.status, location: response.headers.get('location'), text: await response.text() }
}

async function tokenRequest(params, headers = {}) {
  const response = await fetch(app.tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(params).toString(),
  })
  return { status: response.status, headers: response.headers, body: await response.json() }
}

/** Signs in as mcp-agent through `redirectUri` without delivering the callback. */
async function code(redirectUri, options) {
  const back = new URL(await signIn(authorizationUrl(redirectUri, options), { deliver: false }))
  assert.equal(back.searchParams.get('state'), options?.state ?? 'st-1')
  assert.equal(back.searchParams.get('iss'), app.issuer)
  return back.searchParams.get('code')
}

const exchange = (code, redirectUri, codeVerifier = verifier) =>
  tokenRequest({
    grant_type: 'authorization_code',
    code,
    redirect_uri: redirectUri,
    code_verifier: codeVerifier,
    client_id: 'mcp-agent',
    resource: app.mcpUrl,
  })

const refresh = (refreshToken) =>
  tokenRequest({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: 'mcp-agent', resource: app.mcpUrl })

async function callMcp(accessToken) {
  const response = await fetch(app.mcpUrl, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${accessToken}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
  })
  await response.arrayBuffer()
  return response.status
}

test('loopback redirects on three ports and two paths are accepted for mcp-agent', async () => {
  const redirects = [
    'http://127.0.0.1:1/callback',
    'http://127.0.0.1:49152/callback',
    'http://localhost:65535/oauth/done',
    'http://localhost:8080/callback',
  ]
  for (const redirect of redirects) {
    const back = await signIn(authorizationUrl(redirect), { deliver: false })
    assert.ok(back.startsWith(`${redirect}?code=`), back)
  }
  const redirect = 'http://localhost:65535/oauth/done'
  const tokens = await exchange(await code(redirect), redirect)
  assert.equal(tokens.status, 200, JSON.stringify(tokens.body))
  assert.equal(tokens.headers.get('cache-control'), 'no-store')
  assert.equal(tokens.body.token_type, 'Bearer')
  assert.equal(tokens.body.scope, 'mcp')
  assert.equal(tokens.body.expires_in, 3600)
  assert.ok(tokens.body.refresh_token)
  assert.equal(await callMcp(tokens.body.access_token), 200)
})

test('foreign redirect URIs are refused with an error page, never a redirect', async () => {
  for (const redirect of ['https://evil.example/cb', 'http://127.0.0.2/', 'http://localhost.evil.com/', 'http://[::1]:5/cb']) {
    const reply = await get(authorizationUrl(redirect))
    assert.equal(reply.status, 400, redirect)
    assert.equal(reply.location, null, redirect)
    assert.match(reply.text, /redirect_uri/, redirect)
  }
})

test('an unknown scope is refused at authorize, by redirect with state and iss', async () => {
  const reply = await get(authorizationUrl('http://127.0.0.1:5000/callback', { scope: 'mcp admin' }))
  assert.equal(reply.status, 302)
  const back = new URL(reply.location)
  assert.equal(back.searchParams.get('error'), 'invalid_scope')
  assert.equal(back.searchParams.get('state'), 'st-1')
  assert.equal(back.searchParams.get('iss'), app.issuer)
  assert.equal(back.searchParams.get('code'), null)
  // `mcp` is required: `profile` alone is refused too.
  const alone = new URL((await get(authorizationUrl('http://127.0.0.1:5000/callback', { scope: 'profile' }))).location)
  assert.equal(alone.searchParams.get('error'), 'invalid_scope')
})

test('a denied consent goes back as access_denied', async () => {
  const back = new URL(await signIn(authorizationUrl('http://127.0.0.1:5001/cb'), { decision: 'deny', deliver: false }))
  assert.equal(back.searchParams.get('error'), 'access_denied')
  assert.equal(back.searchParams.get('state'), 'st-1')
})

test('the existing web client keeps its https redirect and gets no loopback one', async () => {
  const web = (redirect) => authorizationUrl(redirect, { clientId: 'web-dashboard', scope: 'profile' })
  const loopback = await get(web('http://127.0.0.1:5002/callback'))
  assert.equal(loopback.status, 400)
  assert.equal(loopback.location, null)
  const back = await signIn(web('https://dashboard.example/oauth/callback'), { deliver: false })
  const code = new URL(back).searchParams.get('code')
  const basic = Buffer.from('web-dashboard:dashboard-secret').toString('base64')
  const tokens = await tokenRequest(
    {
      grant_type: 'authorization_code',
      code,
      redirect_uri: 'https://dashboard.example/oauth/callback',
      code_verifier: verifier,
      resource: app.mcpUrl,
    },
    { authorization: `Basic ${basic}` },
  )
  assert.equal(tokens.status, 200, JSON.stringify(tokens.body))
  assert.equal(tokens.body.scope, 'profile')
})

test('a wrong verifier is refused and spends the code', async () => {
  const redirect = 'http://127.0.0.1:5003/callback'
  const c = await code(redirect)
  const wrong = await exchange(c, redirect, randomBytes(32).toString('base64url'))
  assert.equal(wrong.status, 400)
  assert.equal(wrong.body.error, 'invalid_grant')
  const right = await exchange(c, redirect)
  assert.equal(right.body.error, 'invalid_grant')
})

test('a reused code is refused and revokes the tokens issued for it', async () => {
  const redirect = 'http://127.0.0.1:5004/callback'
  const c = await code(redirect)
  const first = await exchange(c, redirect)
  assert.equal(first.status, 200)
  const reuse = await exchange(c, redirect)
  assert.equal(reuse.status, 400)
  assert.equal(reuse.body.error, 'invalid_grant')
  assert.equal(await callMcp(first.body.access_token), 401)
  assert.equal((await refresh(first.body.refresh_token)).body.error, 'invalid_grant')
})

test('a reused refresh token is refused and revokes the whole family', async () => {
  const redirect = 'http://127.0.0.1:5005/callback'
  const first = await exchange(await code(redirect), redirect)
  const second = await refresh(first.body.refresh_token)
  assert.equal(second.status, 200, JSON.stringify(second.body))
  assert.notEqual(second.body.refresh_token, first.body.refresh_token)
  assert.equal(await callMcp(second.body.access_token), 200)
  const revokedBefore = app.stats.revokedFamilies
  const replay = await refresh(first.body.refresh_token)
  assert.equal(replay.status, 400)
  assert.equal(replay.body.error, 'invalid_grant')
  assert.equal(app.stats.revokedFamilies, revokedBefore + 1)
  assert.equal((await refresh(second.body.refresh_token)).body.error, 'invalid_grant')
  assert.equal(await callMcp(second.body.access_token), 401)
})

test('token requests: client authentication, redirect URI and resource are checked', async () => {
  const redirect = 'http://127.0.0.1:5006/callback'
  const otherRedirect = await exchange(await code(redirect), 'http://127.0.0.1:5007/callback')
  assert.equal(otherRedirect.body.error, 'invalid_grant')
  const wrongSecret = await tokenRequest({ grant_type: 'refresh_token', refresh_token: 'x.y', client_id: 'web-dashboard', client_secret: 'nope' })
  assert.equal(wrongSecret.status, 401)
  assert.equal(wrongSecret.body.error, 'invalid_client')
  const c = await code(redirect)
  const elsewhere = await tokenRequest({
    grant_type: 'authorization_code',
    code: c,
    redirect_uri: redirect,
    code_verifier: verifier,
    client_id: 'mcp-agent',
    resource: `${app.origin}/other`,
  })
  assert.equal(elsewhere.body.error, 'invalid_target')
  const json = await fetch(app.tokenUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
  assert.equal(json.status, 400)
  assert.equal((await json.json()).error, 'invalid_request')
})

test('the protected endpoint answers 401 with a challenge naming its metadata', async () => {
  const response = await fetch(app.mcpUrl, { method: 'POST', body: '{}' })
  assert.equal(response.status, 401)
  assert.equal(
    response.headers.get('www-authenticate'),
    `Bearer scope="mcp", resource_metadata="${app.origin}/.well-known/oauth-protected-resource/mcp"`,
  )
  const prm = await (await fetch(`${app.origin}/.well-known/oauth-protected-resource/mcp`)).json()
  assert.equal(prm.resource, app.mcpUrl)
  assert.deepEqual(prm.authorization_servers, [app.issuer])
  const metadata = await (await fetch(`${app.origin}/.well-known/oauth-authorization-server`)).json()
  assert.equal(metadata.issuer, app.issuer)
  assert.deepEqual(metadata.code_challenge_methods_supported, ['S256'])
  assert.equal(metadata.client_id_metadata_document_supported, true)
})

test('a URL client id signs in through its metadata document', async (t) => {
  const documents = createServer((req, res) => {
    const clientId = `http://127.0.0.1:${documents.address().port}/client.json`
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ client_id: clientId, client_name: 'CIMD app', redirect_uris: ['http://127.0.0.1/callback'] }))
  })
  await new Promise((resolve) => documents.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise((resolve) => documents.close(resolve)))
  const clientId = `http://127.0.0.1:${documents.address().port}/client.json`
  const redirect = 'http://127.0.0.1:5008/callback'
  const back = new URL(await signIn(authorizationUrl(redirect, { clientId }), { deliver: false }))
  const tokens = await tokenRequest({
    grant_type: 'authorization_code',
    code: back.searchParams.get('code'),
    redirect_uri: redirect,
    code_verifier: verifier,
    client_id: clientId,
    resource: app.mcpUrl,
  })
  assert.equal(tokens.status, 200, JSON.stringify(tokens.body))
  const elsewhere = await get(authorizationUrl('http://127.0.0.1:5008/other', { clientId }))
  assert.equal(elsewhere.status, 400)
})
