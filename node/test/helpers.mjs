// Test helpers: the local test server (the `mcp-oauth-test-server` binary, built
// by scripts/test-node.sh) on 127.0.0.1, and a headless user agent.
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const targetDir = process.env.CARGO_TARGET_DIR ?? path.join(here, '..', '..', 'target')
const serverBinary =
  process.env.MCP_OAUTH_TEST_SERVER ?? path.join(targetDir, 'release', 'mcp-oauth-test-server')

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g

/** Starts the test server with `args`; resolves once it prints its MCP URL. */
export async function startServer(args = []) {
  const child = spawn(serverBinary, ['--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', RUST_LOG: 'info' },
  })
  const requests = []
  createInterface({ input: child.stderr }).on('line', (line) => {
    const plain = line.replace(ANSI, '')
    const match = /test server request method=(\S+) path=(\S+) status=(\d+)/.exec(plain)
    if (match) requests.push({ method: match[1], path: match[2], status: Number(match[3]) })
  })
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the test server did not start in 20 s')), 20_000)
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`the test server exited with ${code}`)))
    createInterface({ input: child.stdout }).once('line', (line) => {
      clearTimeout(timer)
      resolve(line.trim())
    })
  })
  const origin = new URL(url).origin
  return {
    url,
    origin,
    authorizationUrl: `${origin}/authorize`,
    tokenUrl: `${origin}/token`,
    requests,
    /** How many requests went to `path`, after the server's log catches up. */
    async count(method, path, settleMs = 300) {
      await sleep(settleMs)
      return requests.filter((r) => r.method === method && r.path === path).length
    },
    async stop() {
      if (child.exitCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGINT')
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000)
      await exited
      clearTimeout(timer)
    },
  }
}

/**
 * A user agent without a user: follows the authorization URL's redirects (the
 * test server consents automatically) until they reach the loopback callback.
 */
export async function headlessBrowser(url) {
  const response = await fetch(url, { redirect: 'follow', signal: AbortSignal.timeout(15_000) })
  await response.arrayBuffer()
}

/** A token store in a Map, through the JS callback interface. */
export function mapStore(map = new Map()) {
  return {
    map,
    get: async (key) => map.get(key) ?? null,
    set: async (key, value) => {
      map.set(key, value)
    },
    delete: async (key) => {
      map.delete(key)
    },
    keys: () => [...map.keys()],
  }
}

/** Calls the MCP server's tools/list through `fetch`; resolves to the tool names. */
export async function toolNames(fetch, url) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
  })
  if (response.status !== 200) throw new Error(`tools/list answered ${response.status}`)
  const body = await response.json()
  return body.result.tools.map((t) => t.name)
}
