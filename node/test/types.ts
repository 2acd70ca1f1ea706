// Type-checked with `tsc --noEmit -p test/tsconfig.json` (never run): uses every
// public function and option the way an Electron main process would.
import { OAuthClient, Connection, type ConnectionStatus, type ProgressEvent, type TokenStoreCallbacks } from '../index.js'

const secrets = new Map<string, string>()
const store: TokenStoreCallbacks = {
  get: async (key) => secrets.get(key) ?? null,
  set: (key, value) => {
    secrets.set(key, value)
  },
  delete: async (key) => {
    secrets.delete(key)
  },
  keys: () => [...secrets.keys()],
}

export async function example(openExternal: (url: string) => Promise<void>): Promise<void> {
  const client = new OAuthClient({
    clientName: 'My App',
    store,
    openBrowser: openExternal,
    callbackPort: 33418,
    callbackTimeoutMs: 120_000,
    reauthorizeOnUnauthorized: false,
    onProgress: (event: ProgressEvent) => {
      // The union narrows on `step`.
      if (event.step === 'discovery') console.log(event.method, event.url, event.status)
      else if (event.step === 'signed_in') console.log(event.issuer, event.clientId, event.expiresAt)
      else if (event.step === 'refresh' && !event.ok) console.log(event.code)
    },
  })
  const fileClient = new OAuthClient({ clientName: 'My App', storePath: '/tmp/tokens.json' })
  const controller = new AbortController()
  const dynamic: Connection = await client.connect({
    kind: 'dynamic',
    serverUrl: 'https://mcp.example.com/mcp',
    scope: 'mcp:read',
    connectionId: 'example',
    signal: controller.signal,
  })
  const manual = await fileClient.connect({
    kind: 'manual',
    clientId: 'id',
    clientSecret: 'secret',
    authorizationUrl: 'https://auth.example.com/authorize',
    tokenUrl: 'https://auth.example.com/token',
    scopes: 'a b',
    serverUrl: 'https://mcp.example.com/mcp',
    authMethod: 'client_secret_basic',
    issuer: 'https://auth.example.com',
  })
  const token: string = await dynamic.accessToken()
  const status: ConnectionStatus = manual.status()
  if (status.state === 'connected' && status.expiresAt !== undefined) new Date(status.expiresAt)
  const response: Response = await dynamic.fetch('https://mcp.example.com/mcp', { method: 'POST', body: '{}' })
  const fetchLike: typeof fetch = dynamic.fetch
  void fetchLike, token, response
  await dynamic.refresh()
  const restored: Connection | null = await client.connection('example')
  const ids: string[] = await client.connectionIds()
  void restored, ids
  await dynamic.disconnect()
  await client.disconnect('example')
  try {
    await client.connect({ kind: 'dynamic', serverUrl: 'https://x' })
  } catch (error) {
    const code = (error as Error & { code?: string }).code
    void code
  }
  // @ts-expect-error kind is required and must be 'dynamic' or 'manual'
  await client.connect({ serverUrl: 'https://x' })
}
