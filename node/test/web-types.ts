// Type-checked with `tsc --noEmit -p test/tsconfig.json` (never run): a web
// backend's use of the public API, and the page's use of `mcp-oauth-node/popup`.
import { OAuthClient, callbackPage, generateSealKey, type SignInStart, type TokenStoreCallbacks } from '../index.js'
import { signInWithPopup, waitForSignIn, openSignInPopup, type PopupSignInError } from '../popup.mjs'

declare function query(sql: string, values: unknown[]): Promise<{ rows: { value: string }[] }>

const store: TokenStoreCallbacks = {
  get: async (key) => (await query('SELECT value FROM t WHERE key = $1', [key])).rows[0]?.value ?? null,
  set: async (key, value, expiresAt) => {
    await query('INSERT INTO t VALUES ($1, $2, $3)', [key, value, expiresAt ?? null])
  },
  delete: async (key) => {
    await query('DELETE FROM t WHERE key = $1', [key])
  },
  take: async (key) => (await query('DELETE FROM t WHERE key = $1 RETURNING value', [key])).rows[0]?.value ?? null,
  lock: async (key) => {
    await query('SELECT pg_advisory_lock(hashtext($1))', [key])
    return async () => {
      await query('SELECT pg_advisory_unlock(hashtext($1))', [key])
    }
  },
}

export async function backend(userId: string, callbackUrl: string): Promise<string> {
  const client = new OAuthClient({
    clientName: 'Acme',
    store,
    sealKeys: [{ id: '2025-01', key: generateSealKey() }],
    pendingSignIns: 'sealed',
    signInTtlMs: 300_000,
    preRegistered: [{ issuer: 'https://auth.example.com', clientId: 'acme', clientSecret: 's', authMethod: 'client_secret_post' }],
    clientMetadataUrl: 'https://acme.example/oauth/client.json',
  })
  const started: SignInStart = await client.begin({
    preset: { kind: 'dynamic', serverUrl: 'https://mcp.example.com/mcp' },
    redirectUri: 'https://acme.example/oauth/callback',
    subject: userId,
    connectionId: `${userId}/example`,
  })
  const expires: Date = new Date(started.expiresAt)
  void expires
  try {
    const connection = await client.complete({ callbackUrl, subject: userId })
    return callbackPage({ targetOrigin: 'https://acme.example', connectionId: connection.id }).html
  } catch (error) {
    const failed = error as Error & { code: string; connectionId?: string }
    const page = callbackPage({ targetOrigin: 'https://acme.example', connectionId: failed.connectionId, error: failed })
    const csp: string | undefined = page.headers['Content-Security-Policy']
    void csp
    return page.html
  }
}

export async function page(): Promise<void> {
  try {
    const { connectionId } = await signInWithPopup('/oauth/start', { connectionId: 'example' })
    void connectionId
  } catch (error) {
    const code: string = (error as PopupSignInError).code
    void code
  }
  const popup = openSignInPopup('/oauth/start', { connectionId: 'other' })
  await waitForSignIn(popup, { origin: 'https://acme.example', signal: AbortSignal.timeout(60_000) })
}
