// The JavaScript host under test, chosen by MCP_OAUTH_JS_HOST: `node` (the
// N-API addon, node/) or `wasm` (the shipped browser package, wasm/pkg/web,
// loaded in Node, whose fetch it uses). Only what is genuinely host-specific
// lives here: how a sign-in is driven and how a saved connection is reopened.
// Everything else the suite does through the API both hosts share.
import { readFile } from 'node:fs/promises'
import { headlessBrowser } from '../../node/test/helpers.mjs'

const name = process.env.MCP_OAUTH_JS_HOST
const hosts = {
  async node() {
    const { OAuthClient } = await import('../../node/index.mjs')
    const client = (store, onProgress) =>
      new OAuthClient({ clientName: 'js suite', openBrowser: headlessBrowser, callbackTimeoutMs: 20_000, store, onProgress })
    return {
      name: 'node',
      /** A dynamic sign-in: the addon opens the browser and listens on loopback. */
      signIn: (serverUrl, { store, onProgress } = {}) => client(store, onProgress).connect({ kind: 'dynamic', serverUrl }),
      /** The connection saved in `store` for `serverUrl`, or null. */
      restore: (serverUrl, store, { onProgress } = {}) => client(store, onProgress).connection(serverUrl),
      /** Where `store` keeps the connection of `serverUrl`. */
      sessionKey: (serverUrl) => `session/${serverUrl}`,
      /** The URL a manual sign-in sends the user to (the sign-in is then cancelled). */
      async manualAuthorizationUrl(options) {
        const cancel = new AbortController()
        let opened
        const client = new OAuthClient({
          clientName: 'js suite',
          openBrowser: (url) => {
            opened = url
            cancel.abort()
          },
        })
        await client.connect({ kind: 'manual', ...options, signal: cancel.signal }).catch((error) => {
          if (error.code !== 'cancelled') throw error
        })
        return opened
      },
    }
  },
  async wasm() {
    const pkg = new URL('../../wasm/pkg/web/', import.meta.url)
    const wasm = await import(new URL('mcp_oauth_wasm.js', pkg))
    await wasm.default({ module_or_path: await readFile(new URL('mcp_oauth_wasm_bg.wasm', pkg)) })
    return {
      name: 'wasm',
      /**
       * A dynamic sign-in: the page would open flow.authorizationUrl in a popup;
       * here the user agent takes the test server's immediate consent redirect
       * and hands its Location (the callback URL) to complete().
       */
      async signIn(serverUrl, { store, onProgress } = {}) {
        const flow = await wasm.startDynamic({
          serverUrl,
          redirectUri: 'http://127.0.0.1:9/callback',
          clientName: 'js suite',
          storage: store,
          onProgress,
        })
        const consent = await fetch(flow.authorizationUrl, { redirect: 'manual' })
        return flow.complete(consent.headers.get('location'))
      },
      restore: async (serverUrl, store, { onProgress } = {}) =>
        (await wasm.loadConnection(serverUrl, store, { onProgress })) ?? null,
      sessionKey: (serverUrl) => serverUrl,
      async manualAuthorizationUrl(options) {
        const flow = await wasm.startManual({ ...options, redirectUri: 'http://127.0.0.1:9/callback' })
        return flow.authorizationUrl
      },
    }
  },
}
if (!hosts[name]) throw new Error(`set MCP_OAUTH_JS_HOST to one of: ${Object.keys(hosts).join(', ')}`)

export default await hosts[name]()
