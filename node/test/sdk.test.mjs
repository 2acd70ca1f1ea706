import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { OAuthClient } from '../index.mjs'
import { startServer, headlessBrowser } from './helpers.mjs'

let server
before(async () => {
  server = await startServer()
})
after(async () => {
  await server?.stop()
})

test('the MCP TypeScript SDK lists tools through StreamableHTTPClientTransport with connection.fetch', async () => {
  const oauth = new OAuthClient({ clientName: 'node test', openBrowser: headlessBrowser, callbackTimeoutMs: 20_000 })
  const connection = await oauth.connect({ kind: 'dynamic', serverUrl: server.url })
  const errors = []
  const transport = new StreamableHTTPClientTransport(new URL(server.url), { fetch: connection.fetch })
  const mcp = new Client({ name: 'node test', version: '0.0.0' })
  mcp.onerror = (error) => errors.push(error)
  await mcp.connect(transport)
  const { tools } = await mcp.listTools()
  assert.ok(tools.some((t) => t.name === 'echo'), JSON.stringify(tools))
  const result = await mcp.callTool({ name: 'echo', arguments: { text: 'hi' } })
  assert.ok(JSON.stringify(result).includes('hi'))
  await mcp.close()
  assert.deepEqual(errors, [], 'the SDK reported no transport error (the 405 on GET /mcp is tolerated)')
  assert.ok(server.requests.some((r) => r.method === 'GET' && r.path === '/mcp' && r.status === 405), 'the SDK tried the SSE stream')
})
