// A web backend as a team would write it with Express and the public API of
// mcp-oauth-node only: each signed-in user (a `user` cookie, set by /login)
// connects the MCP server from a popup; tokens live sealed in PostgreSQL
// (examples/pg-store.mjs); tool calls go through the MCP TypeScript SDK with
// `connection.fetch`.
//
// As a module: `createBackend(options)` resolves to `{ url, client, close }`.
// As a process (`node app.mjs`): options come from BACKEND_OPTIONS (JSON); it
// prints its URL on the first line of stdout and serves until killed.
import express from 'express'
import pg from 'pg'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import path from 'node:path'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { OAuthClient, callbackPage } from '../../index.mjs'
import { pgStore } from '../../examples/pg-store.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))
const POPUP_JS = readFileSync(path.join(here, '..', '..', 'popup.mjs'), 'utf8')

/** The one MCP server this app offers, under this id. */
const SERVER_ID = 'test-server'

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Acme: integrations</title>
<style>
  body { font: 15px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; color: #222 }
  button { font: inherit; padding: .4rem 1rem }
  #status[data-state=connected] { color: #07683b } #status[data-state=error] { color: #b3261e }
  code { background: #f2f2f2; padding: 0 .3rem }
</style></head>
<body>
<h1>Integrations</h1>
<p>Signed in as <b id="user"></b></p>
<p>MCP server <code id="server"></code> <button id="connect">Connect</button></p>
<p id="status" data-state="idle">Not connected.</p>
<ul id="tools"></ul>
<script type="module" src="/app.js"></script>
</body></html>`

const APP_JS = `import { signInWithPopup } from '/popup.mjs'
const status = document.getElementById('status')
const show = (state, text, code) => {
  status.dataset.state = state
  if (code) status.dataset.code = code; else delete status.dataset.code
  status.textContent = text
}
const me = await (await fetch('/api/me')).json()
document.getElementById('user').textContent = me.user
document.getElementById('server').textContent = me.server
async function listTools() {
  const response = await fetch('/api/tools')
  const body = await response.json()
  if (!response.ok) return show('error', 'Tools unavailable: ' + body.code, body.code)
  const list = document.getElementById('tools')
  list.replaceChildren(...body.tools.map((name) => {
    const item = document.createElement('li')
    item.append(Object.assign(document.createElement('code'), { textContent: name }))
    return item
  }))
  show('connected', 'Connected to ' + me.server + ': ' + body.tools.length + ' tools.')
}
document.getElementById('connect').addEventListener('click', async () => {
  show('working', 'Waiting for the sign-in window…')
  try {
    await signInWithPopup('/oauth/start', { connectionId: '${SERVER_ID}' })
    await listTools()
  } catch (error) {
    show('error', 'Could not connect: ' + error.message, error.code)
  }
})
window.listTools = listTools
`

function userOf(request) {
  const cookies = Object.fromEntries(
    (request.headers.cookie ?? '').split(';').map((c) => c.trim().split('=').map(decodeURIComponent)),
  )
  return cookies.user || null
}

/** Starts the backend; see the file comment for `options`. */
export async function createBackend({
  mcpUrl,
  sealKeys,
  pendingSignIns = 'stored',
  signInTtlMs,
  table = 'mcp_oauth_store',
  port = 0,
}) {
  const pool = new pg.Pool({ max: 20 })
  const store = await pgStore(pool, { table })
  const client = new OAuthClient({ clientName: 'Acme integrations', store, sealKeys, pendingSignIns, signInTtlMs })
  const app = express()
  let origin

  const connectionId = (user) => `${user}/${SERVER_ID}`
  const sendPage = (response, page) => response.set(page.headers).send(page.html)

  app.get('/login', (request, response) => {
    response.cookie('user', String(request.query.user), { httpOnly: true, sameSite: 'lax' }).redirect('/')
  })
  app.get('/', (_request, response) => response.type('html').send(PAGE))
  app.get('/app.js', (_request, response) => response.type('text/javascript').send(APP_JS))
  app.get('/popup.mjs', (_request, response) => response.type('text/javascript').send(POPUP_JS))
  app.get('/api/me', (request, response) => response.json({ user: userOf(request), server: mcpUrl }))

  app.get('/oauth/start', async (request, response) => {
    const user = userOf(request)
    try {
      if (!user) throw Object.assign(new Error('sign in to the app first'), { code: 'not_signed_in' })
      const started = await client.begin({
        preset: { kind: 'dynamic', serverUrl: mcpUrl },
        redirectUri: `${origin}/oauth/callback`,
        subject: user,
        connectionId: connectionId(user),
      })
      response.redirect(started.authorizationUrl)
    } catch (error) {
      sendPage(response, callbackPage({ targetOrigin: origin, connectionId: user && connectionId(user), error }))
    }
  })

  app.get('/oauth/callback', async (request, response) => {
    try {
      const connection = await client.complete({
        callbackUrl: `${origin}${request.originalUrl}`,
        subject: userOf(request) ?? '',
      })
      sendPage(response, callbackPage({ targetOrigin: origin, connectionId: connection.id }))
    } catch (error) {
      sendPage(response, callbackPage({ targetOrigin: origin, connectionId: error.connectionId, error }))
    }
  })

  app.get('/api/tools', async (request, response) => {
    const user = userOf(request)
    const connection = user && (await client.connection(connectionId(user)))
    if (!connection) return response.status(409).json({ code: 'not_connected' })
    const mcp = new Client({ name: 'acme', version: '1.0.0' })
    try {
      await mcp.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { fetch: connection.fetch }))
      const { tools } = await mcp.listTools()
      response.json({ tools: tools.map((t) => t.name) })
    } catch (error) {
      response.status(409).json({ code: error.code ?? 'mcp_error', connectionId: error.connectionId, message: error.message })
    } finally {
      await mcp.close().catch(() => {})
    }
  })

  const server = await new Promise((resolve) => {
    const listening = app.listen(port, '127.0.0.1', () => resolve(listening))
  })
  origin = `http://127.0.0.1:${server.address().port}`
  return {
    url: origin,
    client,
    pool,
    async close() {
      const closed = new Promise((resolve) => server.close(resolve))
      server.closeAllConnections()
      await closed
      await pool.end()
    },
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const backend = await createBackend(JSON.parse(process.env.BACKEND_OPTIONS ?? '{}'))
  console.log(backend.url)
  const stop = () => backend.close().finally(() => process.exit(0))
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}
