#!/usr/bin/env node
// Runs the example Express authorization server until SIGINT/SIGTERM, printing
// the MCP URL alone on the first stdout line (like mcp-oauth-test-server) and
// `issuer: <url>` on stderr.
//
//   node test/express-as/main.mjs [--port P] [--client ID[:SECRET]]...
//
// Each `--client` adds a client registered with `http://127.0.0.1/callback`
// (any port): public without a secret, confidential with one. That is what the
// conformance suite's `authorization` command needs.
import { parseArgs } from 'node:util'
import { startApp } from './app.mjs'

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    client: { type: 'string', multiple: true, default: [] },
  },
})
const clients = values.client.map((spec) => {
  const [clientId, secret] = spec.split(':')
  return {
    clientId,
    secret,
    authMethods: secret ? ['client_secret_basic', 'client_secret_post'] : ['none'],
    redirect: { redirectUris: ['http://127.0.0.1/callback'] },
  }
})
const app = await startApp({ port: Number(values.port), clients })
console.log(app.mcpUrl)
console.error(`issuer: ${app.issuer}`)
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => app.close().then(() => process.exit(0)))
}
