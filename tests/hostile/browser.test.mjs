// Hostile servers against the browser package (issue 10), in headless Chromium:
// a 64 MiB metadata body is not read whole, a server that never answers times
// out, connection.fetch keeps the token to its server, and a 403
// insufficient_scope asks the page to step up. Needs the built wasm/pkg
// (scripts/test-wasm.sh); scripts/test-hostile.sh runs it.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const repo = join(here, '..', '..')
const { chromium } = createRequire(join(repo, 'wasm', 'package.json'))('playwright-core')
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
]

let browser, page, app, hostile
const servers = []
const seen = []
let hugeBytesSent = 0

function listen(server) {
  servers.push(server)
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${server.address().port}`)))
}

before(async () => {
  // The page: an empty document that can import the package.
  const pages = http.createServer(async (req, res) => {
    if (req.url === '/') {
      res.setHeader('content-type', 'text/html')
      return res.end('<!doctype html><title>hostile</title>')
    }
    try {
      const body = await readFile(join(repo, 'wasm', 'pkg', 'web', req.url.replace(/^\/pkg\//, '')))
      res.setHeader('content-type', req.url.endsWith('.wasm') ? 'application/wasm' : 'text/javascript')
      res.end(body)
    } catch {
      res.statusCode = 404
      res.end()
    }
  })
  app = await listen(pages)
  // The hostile server (CORS open, so the page can read it).
  const server = http.createServer((req, res) => {
    seen.push({ url: req.url, authorization: req.headers.authorization })
    res.setHeader('access-control-allow-origin', '*')
    res.setHeader('access-control-allow-headers', '*')
    res.setHeader('access-control-expose-headers', 'www-authenticate')
    if (req.method === 'OPTIONS') return res.end()
    const [path] = req.url.split('?')
    if (path === '/huge/mcp') {
      res.statusCode = 401
      res.setHeader('www-authenticate', `Bearer resource_metadata="${hostile}/huge-prm"`)
      return res.end()
    }
    if (path === '/huge-prm') {
      res.setHeader('content-type', 'application/json')
      // Paced at one 64 KiB chunk per 4 ms (about 16 MB/s, the whole 64 MiB in
      // about 4 s): over loopback an unpaced body outruns the page's cancel by
      // megabytes whenever the machine is busy, and the figure would measure the
      // scheduler rather than the cap.
      const chunk = Buffer.alloc(64 * 1024, 0x20)
      let left = 1024 // 64 MiB
      const pump = () => {
        if (left <= 0) return res.end()
        left -= 1
        hugeBytesSent += chunk.length
        if (res.write(chunk)) setTimeout(pump, 4)
        else res.once('drain', () => setTimeout(pump, 4))
      }
      res.on('close', () => { left = 0 })
      return pump()
    }
    if (path === '/silent/mcp') return // never answers
    if (path === '/forbidden/mcp') {
      res.statusCode = 403
      res.setHeader('www-authenticate', 'Bearer error="insufficient_scope", scope="files:write"')
      return res.end()
    }
    res.end('{}')
  })
  hostile = await listen(server)
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: CHROMIUM_ARGS })
  page = await (await browser.newContext()).newPage()
  await page.goto(`${app}/`)
  await page.evaluate(async () => {
    const m = await import('/pkg/mcp_oauth_wasm.js')
    await m.default()
    globalThis.mcp = m
  })
})

after(async () => {
  await browser?.close()
  for (const server of servers) {
    server.closeAllConnections()
    server.close()
  }
})

/** Runs `script` in the page; resolves to `{ code, message, scope }` of its rejection, or `{ ok }`. */
function outcome(script, arg) {
  return page.evaluate(async ([source, arg]) => {
    try {
      const value = await (0, eval)(source)(globalThis.mcp, arg)
      return { ok: value ?? true }
    } catch (error) {
      return { code: error.code, message: String(error.message), scope: error.scope }
    }
  }, [script.toString(), arg])
}

const session = (serverUrl) => ({
  grant: {
    server_url: serverUrl,
    issuer: 'https://auth.example.com',
    token_endpoint: 'https://auth.example.com/token',
    client: { issuer: 'https://auth.example.com', client_id: 'c', auth_method: 'none' },
    scope: 'files:read',
  },
  tokens: { access_token: 'browser-token', token_type: 'Bearer', expires_at: 4102444800, received_at: 1700000000 },
})

test('a 64 MiB metadata body is not read past the cap', async () => {
  const result = await outcome(async (m, base) => {
    await m.startDynamic({ serverUrl: `${base}/huge/mcp`, redirectUri: `${location.origin}/cb`, clientName: 'hostile' })
  }, hostile)
  assert.equal(result.code, 'invalid_metadata', JSON.stringify(result))
  assert.ok(hugeBytesSent < 16 * 1024 * 1024, `the page pulled ${hugeBytesSent} bytes`)
})

test('a server that never answers times out with a code', async () => {
  const result = await outcome(async (m, base) => {
    m.setRequestTimeout(1000)
    try {
      await m.startDynamic({ serverUrl: `${base}/silent/mcp`, redirectUri: `${location.origin}/cb`, clientName: 'hostile' })
    } finally {
      m.setRequestTimeout(30000)
    }
  }, hostile)
  assert.equal(result.code, 'timeout', JSON.stringify(result))
})

test('connection.fetch keeps the token to its server origin', async () => {
  const before = seen.length
  const result = await outcome(async (m, [json, url]) => {
    await m.Connection.fromJSON(json).fetch(url, { method: 'POST', body: '{}' })
  }, [session('https://mcp.example.com/mcp'), `${hostile}/steal`])
  assert.equal(result.code, 'origin_not_allowed', JSON.stringify(result))
  assert.deepEqual(seen.slice(before).filter((s) => s.authorization), [])
})

test('a 403 insufficient_scope asks the page to step up with the union scope', async () => {
  const result = await outcome(async (m, [json, url]) => {
    await m.Connection.fromJSON(json).fetch(url, { method: 'POST', body: '{}' })
  }, [session(`${hostile}/forbidden/mcp`), `${hostile}/forbidden/mcp`])
  assert.equal(result.code, 'step_up_required', JSON.stringify(result))
  assert.equal(result.scope, 'files:read files:write')
})
