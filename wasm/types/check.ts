// Type-checked with `tsc --noEmit -p wasm/types` (never run) against the
// generated declarations of the shipped package (pkg/web/mcp_oauth_wasm.d.ts):
// uses every public function and option the way a web app would.
import init, {
  Connection,
  PendingFlow,
  loadConnection,
  relayCallback,
  resume,
  startDynamic,
  startManual,
  type ConnectionStatus,
  type McpOAuthError,
  type ProgressEvent,
  type TokenStorage,
} from '../pkg/web/mcp_oauth_wasm.js'

const storage: TokenStorage = {
  get: (key) => localStorage.getItem(key),
  set: (key, value) => localStorage.setItem(key, value),
  remove: async (key) => localStorage.removeItem(key),
}

function onProgress(event: ProgressEvent): void {
  // The union narrows on `step`.
  if (event.step === 'probe' || event.step === 'token') console.log(event.method, event.url, event.status)
  else if (event.step === 'authorize') console.log(event.url)
  else if (event.step === 'callback' && !event.accepted) console.log(event.reason)
  else if (event.step === 'signed_in') console.log(event.issuer, event.clientId, event.scope, event.expiresAt)
  else if (event.step === 'refresh') console.log(event.ok, event.code)
}

export async function popupSignIn(serverUrl: string): Promise<Connection> {
  await init()
  const popup = window.open('about:blank', 'mcp-oauth', 'popup')
  const flow: PendingFlow = await startDynamic({
    serverUrl,
    redirectUri: `${location.origin}/callback.html`,
    clientName: 'My App',
    clientMetadataUrl: 'https://app.example/client.json',
    scope: 'mcp:read',
    storage,
    onProgress,
  })
  const url: string = flow.authorizationUrl
  const state: string | undefined = flow.state
  void state, flow.redirectUri
  if (popup) popup.location.href = url
  return flow.completeWithPopup(popup)
}

export async function redirectSignIn(): Promise<void> {
  const flow = await startManual({
    clientId: 'id',
    clientSecret: 'secret',
    authorizationUrl: 'https://as.example/authorize',
    tokenUrl: 'https://as.example/token',
    scopes: ['a', 'b'],
    redirectUri: `${location.origin}/callback.html`,
    serverUrl: 'https://mcp.example/mcp',
    issuer: 'https://as.example',
    onProgress,
  })
  sessionStorage.setItem('flow', JSON.stringify(flow))
  location.href = flow.authorizationUrl
}

export async function onCallbackPage(): Promise<void> {
  if (relayCallback()) return
  const saved = sessionStorage.getItem('flow') ?? '{}'
  const connection: Connection = await resume(saved, { storage, onProgress }).complete(location.href)
  await use(connection)
}

async function use(connection: Connection): Promise<void> {
  const token: string = await connection.accessToken()
  const status: ConnectionStatus = connection.status()
  if (status.state === 'connected' && status.expiresAt !== undefined) new Date(status.expiresAt)
  const response: Response = await connection.fetch(connection.serverUrl, { method: 'POST', body: '{}' })
  const scope: string | undefined = connection.scope
  void token, response, scope
  await connection.refresh()
  const copy = Connection.fromJSON(connection.toJSON(), { storage, onProgress })
  const loaded: Connection | undefined = await loadConnection(connection.serverUrl, storage, { onProgress })
  void copy, loaded
  try {
    await connection.disconnect()
  } catch (error) {
    const code: string = (error as McpOAuthError).code
    void code
  }
  // @ts-expect-error serverUrl is required
  await startDynamic({ redirectUri: 'https://app.example/cb', clientName: 'x' })
}
