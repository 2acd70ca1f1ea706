// An interop authorization server and MCP resource on 127.0.0.1: panva's
// oidc-provider (the third-party server under test, pinned in package-lock.json)
// configured for one profile, plus a small MCP resource server that accepts
// oidc-provider's JWT access tokens (RFC 8707 resource indicators, RFC 9068-style
// JWTs checked with jose against the provider's key) and answers 401 with
// `WWW-Authenticate: Bearer resource_metadata=...` otherwise.
//
//   node server.mjs --profile rotating [--at-ttl 3] [--refresh-delay-ms 0]
//
// Prints one JSON line `{"ready":true,...}` with the URLs, then one JSON line per
// event: every request (`{"event":"request",...}`), every token grant
// (`{"event":"grant","grantType":...,"ok":...,"error":...}`) and every resource
// call (`{"event":"resource","status":...}`). Consent is automatic: the
// interaction route logs in a fixed user and grants what OIDC Core allows (no
// `offline_access` without `prompt=consent`, §11; refresh tokens are still issued
// to clients allowed the refresh_token grant, as many deployments configure).
import http from 'node:http'
import { parseArgs } from 'node:util'
import * as jose from 'jose'
import Provider from 'oidc-provider'

const { values: args } = parseArgs({
  options: {
    profile: { type: 'string', default: 'default' },
    'at-ttl': { type: 'string', default: '3' },
    'refresh-delay-ms': { type: 'string', default: '0' },
  },
})

/** The profiles the interop suite runs against. */
const PROFILES = {
  // oidc-provider's defaults: open registration, every auth method, refresh tokens
  // rotated for public clients; `offline_access` listed.
  default: {},
  // Every refresh rotates the refresh token; a used one coming back revokes the
  // grant (oidc-provider's reuse detection, RFC 9700 §4.14.2).
  rotating: { rotate: true },
  // Registration needs an initial access token (closed); one confidential client
  // registered beforehand, authenticating with client_secret_basic.
  closed: {
    registration: { enabled: true, initialAccessToken: true },
    client: { client_id: 'basic-app', client_secret: 'basic-secret-0123456789', token_endpoint_auth_method: 'client_secret_basic' },
  },
  // Only client_secret_post is accepted (Basic is refused); no registration.
  post: {
    registration: { enabled: false },
    clientAuthMethods: ['client_secret_post'],
    client: { client_id: 'post-app', client_secret: 'post-secret-0123456789', token_endpoint_auth_method: 'client_secret_post' },
  },
  // Token responses carry no `expires_in`.
  noexp: { stripExpiresIn: true },
}

const profile = PROFILES[args.profile]
if (!profile) throw new Error(`unknown profile ${args.profile}`)
const accessTokenTtl = Number(args['at-ttl'])
const refreshDelayMs = Number(args['refresh-delay-ms'])

const log = (event) => process.stdout.write(`${JSON.stringify(event)}\n`)

/** Listens on an ephemeral loopback port. */
function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve(server.address().port))
  })
}

const resourceServer = http.createServer()
const authorizationServer = http.createServer()
const [rsPort, asPort] = [await listen(resourceServer), await listen(authorizationServer)]
const issuer = `http://127.0.0.1:${asPort}`
const resource = `http://127.0.0.1:${rsPort}/mcp`
const prmUrl = `http://127.0.0.1:${rsPort}/.well-known/oauth-protected-resource/mcp`
const resourceScopes = 'mcp:read mcp:write'

const { privateKey, publicKey } = await jose.generateKeyPair('RS256', { extractable: true })
const signingKey = { ...(await jose.exportJWK(privateKey)), kid: 'interop', alg: 'RS256', use: 'sig' }
const verificationKeys = jose.createLocalJWKSet({ keys: [{ ...(await jose.exportJWK(publicKey)), kid: 'interop', alg: 'RS256' }] })

const clients = profile.client
  ? [
      {
        ...profile.client,
        application_type: 'native',
        redirect_uris: ['http://127.0.0.1/callback'],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      },
    ]
  : []

const provider = new Provider(issuer, {
  clients,
  jwks: { keys: [signingKey] },
  scopes: ['openid', 'offline_access', 'mcp:read', 'mcp:write'],
  clientAuthMethods: profile.clientAuthMethods,
  features: {
    devInteractions: { enabled: false },
    registration: profile.registration ?? { enabled: true },
    // The client revokes its own tokens (oidc-provider checks the client owns them).
    revocation: { enabled: true, allowedPolicy: async () => true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, indicator) => {
        if (indicator !== resource) throw new Provider.errors.InvalidTarget()
        return {
          scope: resourceScopes,
          audience: resource,
          accessTokenTTL: accessTokenTtl,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        }
      },
    },
  },
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: profile.rotate ? () => true : undefined,
  ttl: { AccessToken: accessTokenTtl, RefreshToken: 3600, Grant: 3600, Session: 3600, Interaction: 600 },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  pkce: { required: () => true },
})
// Loopback http issuer: oidc-provider is told it sits behind no proxy.
provider.proxy = false

/** The user agent lands here: log in a fixed user and consent automatically. */
async function interact(ctx) {
  const details = await provider.interactionDetails(ctx.req, ctx.res)
  const { prompt, params, session } = details
  let result
  if (prompt.name === 'login') {
    result = { login: { accountId: 'interop-user' } }
  } else {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id })
    const oidc = (prompt.details.missingOIDCScope ?? []).filter(
      // OIDC Core §11: offline_access is granted only with prompt=consent.
      (scope) => scope !== 'offline_access' || String(params.prompt ?? '').includes('consent'),
    )
    if (oidc.length) grant.addOIDCScope(oidc.join(' '))
    for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '))
    }
    result = { consent: { grantId: await grant.save() } }
  }
  const to = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false })
  ctx.status = 303
  ctx.redirect(to)
}

provider.use(async (ctx, next) => {
  const started = Date.now()
  if (/^\/interaction\/[^/]+$/.test(ctx.path)) {
    await interact(ctx)
  } else {
    await next()
  }
  if (refreshDelayMs > 0 && ctx.path === '/token' && ctx.oidc?.params?.grant_type === 'refresh_token') {
    // The refresh is done (the refresh token rotated); its answer is slow, so a
    // test can abort a caller while it is in flight.
    await new Promise((resolve) => setTimeout(resolve, refreshDelayMs))
  }
  if (profile.stripExpiresIn && ctx.path === '/token' && ctx.body && typeof ctx.body === 'object') {
    delete ctx.body.expires_in
  }
  log({ event: 'request', method: ctx.method, path: ctx.path, status: ctx.status, ms: Date.now() - started })
})

provider.on('grant.success', (ctx) => log({ event: 'grant', grantType: ctx.oidc.params.grant_type, ok: true }))
provider.on('grant.error', (ctx, error) =>
  log({ event: 'grant', grantType: ctx.oidc.params?.grant_type, ok: false, error: error.error, description: error.error_description }),
)
provider.on('grant.revoked', (_ctx, grantId) => log({ event: 'grant.revoked', grantId }))

authorizationServer.on('request', provider.callback())

resourceServer.on('request', async (req, res) => {
  const url = new URL(req.url, `http://127.0.0.1:${rsPort}`)
  if (url.pathname === '/.well-known/oauth-protected-resource/mcp' || url.pathname === '/.well-known/oauth-protected-resource') {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ resource, authorization_servers: [issuer], scopes_supported: resourceScopes.split(' ') }))
    return
  }
  if (url.pathname !== '/mcp') {
    res.writeHead(404).end()
    return
  }
  const chunks = []
  for await (const chunk of req) chunks.push(chunk)
  const token = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1]
  let claims
  if (token) {
    try {
      ;({ payload: claims } = await jose.jwtVerify(token, verificationKeys, { issuer, audience: resource }))
    } catch {
      claims = undefined
    }
  }
  if (!claims) {
    log({ event: 'resource', status: 401 })
    res.writeHead(401, {
      'content-type': 'application/json',
      'www-authenticate': `Bearer resource_metadata="${prmUrl}", scope="${resourceScopes}"${token ? ', error="invalid_token"' : ''}`,
    })
    res.end(JSON.stringify({ error: 'unauthorized' }))
    return
  }
  let id = null
  try {
    id = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}').id ?? null
  } catch {}
  log({ event: 'resource', status: 200 })
  res.writeHead(200, { 'content-type': 'application/json' })
  res.end(JSON.stringify({ jsonrpc: '2.0', id, result: { tools: [{ name: 'echo' }], subject: claims.sub, scope: claims.scope } }))
})

log({
  ready: true,
  profile: args.profile,
  issuer,
  resource,
  authorizationUrl: `${issuer}/auth`,
  tokenUrl: `${issuer}/token`,
  client: profile.client ?? null,
})

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    resourceServer.close()
    authorizationServer.close()
    process.exit(0)
  })
}
