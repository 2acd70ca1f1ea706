// One full dynamic sign-in plus one tool call, side by side: through this
// addon (connection.fetch under the MCP TypeScript SDK's Client and
// StreamableHTTPClientTransport) and through the MCP TypeScript SDK alone (its
// own auth() driven by StreamableHTTPClientTransport's authProvider), against
// the local test server, in the same run. Both start from nothing (no client
// registered, no tokens), both receive the callback on a loopback listener from
// a headless user agent. Prints the time ratio and what each sent.
// Run: node bench/sign-in.mjs (ROUNDS=20 by default).
import http from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js'
import { OAuthClient } from '../index.mjs'
import { startServer, headlessBrowser } from '../test/helpers.mjs'

const ROUNDS = Number(process.env.ROUNDS ?? 20)

/** A one-shot loopback listener for `/callback`, as a native app would run. */
async function loopbackCallback() {
  let deliver
  const code = new Promise((resolve) => (deliver = resolve))
  const server = http.createServer((request, response) => {
    const url = new URL(request.url, 'http://127.0.0.1')
    response.end('You can close this window.')
    if (url.pathname === '/callback') deliver(url.searchParams.get('code'))
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${server.address().port}/callback`,
    code,
    close: () => new Promise((resolve) => server.close(resolve)),
  }
}

/** The TS SDK's OAuthClientProvider, in memory, as its examples write it. */
function memoryProvider(redirectUrl) {
  const saved = {}
  return {
    get redirectUrl() {
      return redirectUrl
    },
    get clientMetadata() {
      return {
        client_name: 'bench',
        redirect_uris: [redirectUrl],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
      }
    },
    clientInformation: () => saved.client,
    saveClientInformation: (client) => (saved.client = client),
    tokens: () => saved.tokens,
    saveTokens: (tokens) => (saved.tokens = tokens),
    redirectToAuthorization: (url) => headlessBrowser(url),
    saveCodeVerifier: (verifier) => (saved.verifier = verifier),
    codeVerifier: () => saved.verifier,
  }
}

async function callEcho(transport) {
  const mcp = new Client({ name: 'bench', version: '0.0.0' })
  await mcp.connect(transport)
  const result = await mcp.callTool({ name: 'echo', arguments: { text: 'hi' } })
  if (!JSON.stringify(result).includes('hi')) throw new Error(`unexpected tool result ${JSON.stringify(result)}`)
  await mcp.close()
}

const runs = {
  async addon(serverUrl) {
    const oauth = new OAuthClient({ clientName: 'bench', openBrowser: headlessBrowser, callbackTimeoutMs: 20_000 })
    const connection = await oauth.connect({ kind: 'dynamic', serverUrl })
    await callEcho(new StreamableHTTPClientTransport(new URL(serverUrl), { fetch: connection.fetch }))
  },
  async tsSdk(serverUrl) {
    const callback = await loopbackCallback()
    try {
      const provider = memoryProvider(callback.url)
      const mcp = new Client({ name: 'bench', version: '0.0.0' })
      try {
        await mcp.connect(new StreamableHTTPClientTransport(new URL(serverUrl), { authProvider: provider }))
        throw new Error('the TS SDK connected without signing in')
      } catch (error) {
        if (!(error instanceof UnauthorizedError)) throw error
      }
      const transport = new StreamableHTTPClientTransport(new URL(serverUrl), { authProvider: provider })
      await transport.finishAuth(await callback.code)
      await callEcho(transport)
    } finally {
      await callback.close()
    }
  },
}

/**
 * Requests the server saw, grouped: the client's sign-in round trips (the 401
 * that starts it, discovery, registration, token), the browser's, and the MCP
 * requests made with the token.
 */
function tally(requests) {
  const mcp = requests.filter((r) => r.path === '/mcp' && r.status !== 401)
  const browser = requests.filter((r) => r.path === '/authorize')
  return {
    oauth: requests.length - mcp.length - browser.length,
    browser: browser.length,
    mcp: mcp.length,
    list: requests.map((r) => `${r.method} ${r.path} ${r.status}`),
  }
}

const server = await startServer()
try {
  const timings = { addon: [], tsSdk: [] }
  const counts = {}
  for (let round = -1; round < ROUNDS; round++) {
    for (const name of round % 2 ? ['addon', 'tsSdk'] : ['tsSdk', 'addon']) {
      const before = server.requests.length
      const started = process.hrtime.bigint()
      await runs[name](server.url)
      const elapsed = Number(process.hrtime.bigint() - started) / 1e6
      if (round < 0) {
        await sleep(300) // the server's log catches up
        counts[name] = tally(server.requests.slice(before))
      } else {
        timings[name].push(elapsed)
      }
    }
  }
  const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]
  const addon = median(timings.addon)
  const tsSdk = median(timings.tsSdk)
  console.log(`node ${process.version}, ${ROUNDS} rounds each, alternating; one dynamic sign-in + one tools/call, median:`)
  console.log(`  mcp-oauth-node (addon)        ${addon.toFixed(1).padStart(7)} ms`)
  console.log(`  MCP TS SDK auth() + transport ${tsSdk.toFixed(1).padStart(7)} ms`)
  console.log(`  ratio TS SDK / addon          ${(tsSdk / addon).toFixed(2)}x`)
  console.log('requests the test server saw in one run (sign-in round trips by the client + the browser\'s + MCP with the token):')
  for (const [name, c] of Object.entries(counts)) {
    console.log(`  ${name.padEnd(6)} ${c.oauth} sign-in + ${c.browser} browser + ${c.mcp} MCP: ${c.list.join(', ')}`)
  }
} finally {
  await server.stop()
}
