// Three clients against the example Express authorization server
// (test/express-as/app.mjs): this project's Node addon, its CLI, and the MCP
// TypeScript SDK's own OAuth client. Each signs in as the hard-coded
// `mcp-agent` through the consent page, calls the protected MCP endpoint (served
// by the MCP SDK), and refreshes.
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { setTimeout as sleep } from 'node:timers/promises'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js'
import { OAuthClient } from '../index.mjs'
import { startApp } from './express-as/app.mjs'
import { signIn } from './express-as/headless-user.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))
const targetDir = process.env.CARGO_TARGET_DIR ?? path.join(here, '..', '..', 'target')
const cli = process.env.MCP_OAUTH_CLI ?? path.join(targetDir, 'debug', 'mcp-oauth')
const headlessUser = path.join(here, 'express-as', 'headless-user.mjs')

let app
before(async () => {
  app = await startApp()
})
after(async () => {
  await app?.close()
})

/** Calls the `whoami` tool through an MCP SDK client on `transport`. */
async function whoami(mcp) {
  const result = await mcp.callTool({ name: 'whoami', arguments: {} })
  return result.content[0].text
}

test('the Node addon signs in as mcp-agent, calls the MCP endpoint and refreshes', async () => {
  const oauth = new OAuthClient({ clientName: 'node test', openBrowser: (url) => signIn(url), callbackTimeoutMs: 20_000 })
  const connection = await oauth.connect({
    kind: 'manual',
    clientId: 'mcp-agent',
    authorizationUrl: app.authorizationUrl,
    tokenUrl: app.tokenUrl,
    serverUrl: app.mcpUrl,
    scopes: 'mcp',
    authMethod: 'none',
    issuer: app.issuer,
  })
  const mcp = new Client({ name: 'addon', version: '0.0.0' })
  await mcp.connect(new StreamableHTTPClientTransport(new URL(app.mcpUrl), { fetch: connection.fetch }))
  assert.equal(await whoami(mcp), 'alice via mcp-agent (mcp)')

  // The server forgets every access token: the next call gets a 401, refreshes
  // once and retries.
  const refreshes = app.stats.refreshGrants
  app.expireAccessTokens()
  assert.equal(await whoami(mcp), 'alice via mcp-agent (mcp)')
  assert.equal(app.stats.refreshGrants, refreshes + 1)
  const before = await connection.accessToken()
  const after = await connection.refresh()
  assert.notEqual(after, before)
  assert.equal(await whoami(mcp), 'alice via mcp-agent (mcp)')
  await mcp.close()
})

test('the MCP TypeScript SDK client signs in as mcp-agent, calls the MCP endpoint and refreshes', async () => {
  let tokens
  let verifier
  let callback
  const provider = {
    redirectUrl: 'http://127.0.0.1:43219/oauth/callback',
    clientMetadata: { client_name: 'sdk test', redirect_uris: ['http://127.0.0.1:43219/oauth/callback'] },
    clientInformation: () => ({ client_id: 'mcp-agent' }),
    tokens: () => tokens,
    saveTokens: (t) => {
      tokens = t
    },
    redirectToAuthorization: async (url) => {
      callback = new URL(await signIn(url.href, { deliver: false }))
    },
    saveCodeVerifier: (v) => {
      verifier = v
    },
    codeVerifier: () => verifier,
  }
  const transport = () => new StreamableHTTPClientTransport(new URL(app.mcpUrl), { authProvider: provider })
  const first = transport()
  await assert.rejects(new Client({ name: 'sdk', version: '0.0.0' }).connect(first), UnauthorizedError)
  assert.equal(callback.searchParams.get('iss'), app.issuer)
  await first.finishAuth(callback.searchParams.get('code'))
  assert.equal(tokens.scope, 'mcp')
  assert.ok(tokens.refresh_token)

  const mcp = new Client({ name: 'sdk', version: '0.0.0' })
  await mcp.connect(transport())
  assert.equal(await whoami(mcp), 'alice via mcp-agent (mcp)')
  const refreshes = app.stats.refreshGrants
  const oldRefresh = tokens.refresh_token
  app.expireAccessTokens()
  assert.equal(await whoami(mcp), 'alice via mcp-agent (mcp)')
  assert.equal(app.stats.refreshGrants, refreshes + 1)
  assert.notEqual(tokens.refresh_token, oldRefresh, 'the rotated refresh token was saved')
  await mcp.close()
})

test('the mcp-oauth CLI signs in as mcp-agent, prints a token the MCP endpoint accepts, and refreshes', async (t) => {
  // The first access token expires at once, so `token` must refresh it
  // whatever the CLI's early-refresh window is; later ones last an hour.
  const shortLived = await startApp({ accessTokenLifetimeSecs: 1 })
  const dir = await mkdtemp(path.join(tmpdir(), 'mcp-oauth-cli-'))
  t.after(async () => {
    await shortLived.close()
    await rm(dir, { recursive: true, force: true })
  })
  const run = (...args) =>
    promisify(execFile)(cli, ['--store', path.join(dir, 'tokens.json'), ...args], { timeout: 30_000 })
  await run(
    'login', shortLived.mcpUrl,
    '--client-id', 'mcp-agent',
    '--auth-url', shortLived.authorizationUrl,
    '--token-url', shortLived.tokenUrl,
    '--issuer', shortLived.issuer,
    '--auth-method', 'none',
    '--scopes', 'mcp',
    '--browser', headlessUser,
    '--timeout', '20',
  )
  assert.equal(shortLived.stats.codeGrants, 1)
  await sleep(1_100)
  shortLived.setAccessTokenLifetime(3600)
  const refreshed = (await run('token', shortLived.mcpUrl)).stdout.trim()
  assert.equal(shortLived.stats.refreshGrants, 1, 'the CLI refreshed the expired token')
  const response = await fetch(shortLived.mcpUrl, {
    method: 'POST',
    headers: { authorization: `Bearer ${refreshed}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
  })
  assert.equal(response.status, 200)
  assert.deepEqual((await response.json()).result.tools.map((tool) => tool.name), ['whoami'])
  // The refreshed token and the rotated refresh token were stored.
  assert.equal((await run('token', shortLived.mcpUrl)).stdout.trim(), refreshed)
  assert.equal(shortLived.stats.refreshGrants, 1)
  assert.equal(shortLived.stats.revokedFamilies, 0)
})
