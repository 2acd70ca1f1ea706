// An existing Express web app that adds an MCP client path to its own OAuth
// server, written only against `server` from mcp-oauth-node (issue 12):
//
// - a hard-coded public client `mcp-agent` (no database record) whose redirect
//   URI must be loopback (`http://localhost` or `http://127.0.0.1`, any port,
//   any path — RFC 8252 §7.3), with the scope `mcp` (required) and `profile`;
// - an existing confidential web client, `web-dashboard`, registered with one
//   https redirect URI, which keeps working and gets no loopback redirect;
// - a consent page, codes redirected back with `state` and `iss`, PKCE at the
//   token endpoint, scoped access tokens with refresh tokens (rotated, a replay
//   revokes the family), URL client ids (Client ID Metadata Documents);
// - a protected MCP endpoint served by the MCP TypeScript SDK.
//
// Storage is three Maps; a real app would use its database. Every OAuth decision
// is `server.*`'s: the routes only parse HTTP, look records up and store them.
import express from 'express'
import { randomBytes } from 'node:crypto'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import { server } from '../../index.mjs'

/** The hard-coded MCP client of the issue. */
export const MCP_AGENT = {
  clientId: 'mcp-agent',
  redirect: { anyLoopback: ['http://localhost', 'http://127.0.0.1'] },
  scope: { allowed: ['mcp', 'profile'], default: ['mcp'], required: ['mcp'] },
  authMethods: ['none'],
}

/** The app's existing web client. */
export const WEB_DASHBOARD = {
  clientId: 'web-dashboard',
  redirect: { redirectUris: ['https://dashboard.example/oauth/callback'] },
  scope: { allowed: ['profile'], default: ['profile'] },
  authMethods: ['client_secret_basic', 'client_secret_post'],
  secret: 'dashboard-secret',
}

const escape = (text) =>
  String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c])

const page = (status, title, body) => [
  status,
  `<!doctype html><html><head><meta charset="utf-8"><title>${escape(title)}</title></head><body><h1>${escape(title)}</h1>${body}</body></html>`,
]

/**
 * Starts the app on 127.0.0.1 (port 0: ephemeral). `clients`: more hard-coded
 * clients (e.g. the conformance suite's). Resolves to its URLs, a few hooks for
 * tests, and `close()`.
 */
export async function startApp({ port = 0, accessTokenLifetimeSecs = 3600, clients = [] } = {}) {
  const app = express()
  const http = await new Promise((resolve, reject) => {
    const listener = app.listen(port, '127.0.0.1', () => resolve(listener))
    listener.once('error', reject)
  })
  const origin = `http://127.0.0.1:${http.address().port}`
  const mcpUrl = `${origin}/mcp`

  const config = {
    issuer: origin,
    authorizationEndpoint: `${origin}/authorize`,
    tokenEndpoint: `${origin}/token`,
    scopesSupported: ['mcp', 'profile'],
    defaultScopes: ['mcp'],
    resources: { allowed: [mcpUrl] },
    accessTokenLifetimeSecs,
    clientIdMetadataDocuments: true,
    clientIdMetadataDocumentsOnLoopbackHttp: true,
  }
  let as = new server.AuthorizationServer(config)
  const resource = new server.ProtectedResource({
    resource: mcpUrl,
    authorizationServers: [origin],
    scopesSupported: ['mcp', 'profile'],
    challengeScopes: ['mcp'],
    resourceMetadataUrl: `${origin}/.well-known/oauth-protected-resource/mcp`,
    resourceName: 'Example app',
  })

  // The app's storage.
  const registered = new Map([MCP_AGENT, WEB_DASHBOARD, ...clients].map((c) => [c.clientId, c]))
  const documentClients = new Map() // URL client ids, from their metadata documents
  const pending = new Map() // consent id -> validated authorization request
  const codes = new Map() // code key -> code record
  const families = new Map() // family id -> refresh-token family
  const accessTokens = new Map() // access key -> access-token record
  const stats = { authorize: 0, refused: 0, codeGrants: 0, refreshGrants: 0, revokedFamilies: 0 }

  const knownClient = (id) => (id ? (registered.get(id) ?? documentClients.get(id) ?? null) : null)
  const revoke = (familyId) => {
    stats.revokedFamilies++
    families.delete(familyId)
    for (const [key, record] of accessTokens) if (record.familyId === familyId) accessTokens.delete(key)
  }

  // URL client ids: fetching the document is the app's I/O; whether it
  // describes a usable client is the toolkit's decision.
  async function clientFor(clientId) {
    if (!clientId || registered.has(clientId) || !as.isMetadataClientId(clientId)) return knownClient(clientId)
    const response = await fetch(clientId, { redirect: 'manual', signal: AbortSignal.timeout(5_000) })
    const body = Buffer.from(await response.arrayBuffer()).subarray(0, 5 * 1024 + 1)
    const client = as.clientFromMetadataDocument(clientId, {
      status: response.status,
      contentType: response.headers.get('content-type'),
      body,
    })
    documentClients.set(clientId, client)
    return client
  }

  app.get('/.well-known/oauth-authorization-server', (req, res) => res.set('cache-control', 'no-store').json(as.metadata()))
  for (const path of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource']) {
    app.get(path, (req, res) => res.json(resource.metadata()))
  }

  app.get('/authorize', async (req, res) => {
    stats.authorize++
    const query = req.originalUrl.split('?')[1] ?? ''
    try {
      const params = as.parseAuthorizationRequest(query)
      const client = await clientFor(params.clientId)
      const request = as.validateAuthorizationRequest(params, client)
      const id = randomBytes(16).toString('base64url')
      pending.set(id, request)
      const [status, html] = page(
        200,
        'Authorize access',
        `<p>Signed in as <b>alice</b>. <code>${escape(request.clientId)}</code> asks for <code>${escape(request.scope ?? '')}</code>.</p>
<form method="post" action="/consent"><input type="hidden" name="pending" value="${id}">
<button name="decision" value="approve" id="approve">Approve</button> <button name="decision" value="deny" id="deny">Deny</button></form>`,
      )
      res.status(status).set('cache-control', 'no-store').send(html)
    } catch (error) {
      stats.refused++
      if (error.redirectable) return res.redirect(302, error.redirectTo)
      const [status, html] = page(error.status ?? 400, 'Authorization request refused', `<p>${escape(error.message)}</p>`)
      res.status(status).send(html)
    }
  })

  app.post('/consent', express.urlencoded({ extended: false }), (req, res) => {
    const request = pending.get(req.body.pending)
    pending.delete(req.body.pending)
    if (!request) return res.status(400).send('This consent request is unknown or was already answered.')
    if (req.body.decision !== 'approve') return res.redirect(302, as.deny(request))
    const issued = as.issueCode(request, 'alice')
    codes.set(issued.key, issued.record)
    res.redirect(302, issued.redirectTo)
  })

  app.post('/token', express.raw({ type: () => true, limit: '64kb' }), (req, res) => {
    try {
      const request = as.parseTokenRequest({
        contentType: req.get('content-type'),
        authorization: req.get('authorization'),
        body: req.body,
      })
      const client = knownClient(request.client.clientId)
      let grant
      if (request.grant.grantType === 'authorization_code') {
        stats.codeGrants++
        const key = as.codeKey(request)
        const record = codes.get(key) ?? null
        if (record) codes.set(key, { ...record, consumed: true }) // single use, before any check
        grant = as.exchangeCode(request, client, record)
      } else {
        stats.refreshGrants++
        grant = as.refresh(request, client, families.get(as.refreshFamilyId(request)) ?? null)
      }
      const tokens = as.issueTokens(grant)
      accessTokens.set(tokens.accessKey, tokens.access)
      if (tokens.family) families.set(tokens.family.id, tokens.family)
      res.status(200).set(tokens.headers).json(tokens.body)
    } catch (error) {
      if (error.revokeFamily) revoke(error.revokeFamily)
      if (!error.status) throw error
      res.status(error.status).set(error.headers).json(error.body)
    }
  })

  // The protected MCP endpoint: bearer check, then the MCP SDK (stateless).
  const authenticate = (req, res, next) => {
    const token = server.bearerToken(req.get('authorization'))
    const record = token ? (accessTokens.get(server.tokenKey(token)) ?? null) : null
    try {
      resource.verify(token, record)
    } catch (error) {
      return res.status(error.status).set(error.headers).json({ error: error.code, error_description: error.message })
    }
    req.auth = { token, clientId: record.clientId, scopes: (record.scope ?? '').split(' '), extra: { subject: record.subject } }
    next()
  }
  app.post('/mcp', authenticate, express.json(), async (req, res) => {
    const mcp = new McpServer({ name: 'express-as-example', version: '1.0.0' })
    mcp.registerTool('whoami', { description: 'Who the access token belongs to.' }, async (extra) => ({
      content: [{ type: 'text', text: `${extra.authInfo?.extra?.subject} via ${extra.authInfo?.clientId} (${extra.authInfo?.scopes.join(' ')})` }],
    }))
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true })
    res.on('close', () => {
      transport.close()
      mcp.close()
    })
    await mcp.connect(transport)
    await transport.handleRequest(req, res, req.body)
  })
  app.all('/mcp', authenticate, (req, res) => res.status(405).set('allow', 'POST').end())

  return {
    origin,
    issuer: origin,
    mcpUrl,
    authorizationUrl: `${origin}/authorize`,
    tokenUrl: `${origin}/token`,
    stats,
    families,
    /** Makes every access token invalid (refresh tokens stay valid). */
    expireAccessTokens: () => accessTokens.clear(),
    /** Issues access tokens with this lifetime from now on. */
    setAccessTokenLifetime: (secs) => {
      as = new server.AuthorizationServer({ ...config, accessTokenLifetimeSecs: secs })
    },
    close: () =>
      new Promise((resolve) => {
        http.closeAllConnections?.()
        http.close(() => resolve())
      }),
  }
}
