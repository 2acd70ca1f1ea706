// Type-checked with `tsc --noEmit -p test/tsconfig.json` (never run): the
// `server` export the way an app's authorization and token routes use it.
import { server } from '../index.js'

const as = new server.AuthorizationServer({
  issuer: 'https://app.example',
  authorizationEndpoint: 'https://app.example/authorize',
  tokenEndpoint: 'https://app.example/token',
  scopesSupported: ['mcp'],
  resources: { allowed: ['https://app.example/mcp'], required: true },
  authMethods: ['none', 'client_secret_basic'],
  accessTokenLifetimeSecs: 600,
})
const mcpAgent: server.Client = {
  clientId: 'mcp-agent',
  redirect: { anyLoopback: ['http://localhost', 'http://127.0.0.1'] },
  scope: { allowed: ['mcp'], default: ['mcp'], required: ['mcp'] },
}
const codes = new Map<string, server.CodeRecord>()
const families = new Map<string, server.RefreshFamily>()
const accessTokens = new Map<string, server.AccessTokenRecord>()

export function authorize(query: string): { status: number; location?: string; request?: server.AuthorizationRequest } {
  try {
    const params: server.AuthorizationParams = as.parseAuthorizationRequest(query)
    const request = as.validateAuthorizationRequest(params, params.clientId === 'mcp-agent' ? mcpAgent : null)
    return { status: 200, request }
  } catch (error) {
    const e = error as server.OAuthError
    return e.redirectable && e.redirectTo ? { status: 302, location: e.redirectTo } : { status: e.status }
  }
}

export function approve(request: server.AuthorizationRequest, userId: string): string {
  const issued: server.IssuedCode = as.issueCode(request, userId)
  codes.set(issued.key, issued.record)
  return request.state === undefined ? as.deny(request) : issued.redirectTo
}

export function token(contentType: string, body: Buffer): { status: number; headers: Record<string, string>; body: object } {
  try {
    const request: server.TokenRequest = as.parseTokenRequest({ contentType, body })
    const client = request.client.clientId === 'mcp-agent' ? mcpAgent : null
    let grant: server.Grant
    if (request.grant.grantType === 'authorization_code') {
      const key = as.codeKey(request) ?? ''
      const record = codes.get(key) ?? null
      if (record) codes.set(key, { ...record, consumed: true })
      grant = as.exchangeCode(request, client, record)
    } else {
      grant = as.refresh(request, client, families.get(as.refreshFamilyId(request) ?? '') ?? null, Date.now() / 1000)
    }
    const tokens: server.IssuedTokens = as.issueTokens(grant)
    accessTokens.set(tokens.accessKey, tokens.access)
    if (tokens.family) families.set(tokens.family.id, tokens.family)
    const expiresIn: number = tokens.body.expires_in
    void expiresIn
    return { status: 200, headers: tokens.headers, body: tokens.body }
  } catch (error) {
    const e = error as server.OAuthError
    if (e.revokeFamily) families.delete(e.revokeFamily)
    return { status: e.status, headers: e.headers ?? {}, body: e.body ?? {} }
  }
}

const resource = new server.ProtectedResource({
  resource: 'https://app.example/mcp',
  authorizationServers: [as.issuer],
  challengeScopes: ['mcp'],
})
export function protect(authorization: string | undefined): server.AccessTokenRecord | { status: number; challenge?: string } {
  const bearer = server.bearerToken(authorization)
  const record = bearer ? (accessTokens.get(server.tokenKey(bearer)) ?? null) : null
  try {
    resource.verify(bearer, record, ['mcp'])
    return record as server.AccessTokenRecord
  } catch (error) {
    return { status: (error as server.OAuthError).status, challenge: (error as server.OAuthError).wwwAuthenticate }
  }
}
const metadata: Record<string, unknown> = { ...as.metadata(), ...resource.metadata() }
void metadata
// @ts-expect-error a client needs a clientId
const broken: server.Client = { redirect: { redirectUris: [] } }
void broken
