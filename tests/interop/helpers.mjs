// Helpers for the interop tests: oidc-provider profiles as child processes with
// their event log, the `mcp-oauth` CLI, and the MCP resource.
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.join(here, '..', '..')
const targetDir = process.env.CARGO_TARGET_DIR ?? path.join(root, 'target')
export const cliBinary = process.env.MCP_OAUTH_CLI ?? path.join(targetDir, 'debug', 'mcp-oauth')
/** The `--browser` command line the CLI runs: a program with arguments. */
export const agentCommand = `${JSON.stringify(process.execPath)} ${JSON.stringify(path.join(here, 'agent.mjs'))}`

/** Starts `server.mjs` for `profile`; resolves once it is listening. */
export async function startProfile(profile, { atTtl = 3, refreshDelayMs = 0 } = {}) {
  const child = spawn(
    process.execPath,
    [path.join(here, 'server.mjs'), '--profile', profile, '--at-ttl', String(atTtl), '--refresh-delay-ms', String(refreshDelayMs)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const events = []
  child.stderr.resume()
  const lines = createInterface({ input: child.stdout })
  const ready = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${profile}: the server did not start in 20 s`)), 20_000)
    child.once('exit', (code) => reject(new Error(`${profile}: the server exited with ${code}`)))
    lines.on('line', (line) => {
      if (!line.startsWith('{')) return // oidc-provider's own notices
      const event = JSON.parse(line)
      if (event.ready) {
        clearTimeout(timer)
        resolve(event)
      } else {
        events.push(event)
      }
    })
  })
  return {
    ...ready,
    events,
    /** Events so far matching `filter`, after the log catches up. */
    async where(filter, settleMs = 200) {
      await sleep(settleMs)
      return events.filter((e) => Object.entries(filter).every(([k, v]) => e[k] === v))
    },
    /** Refresh grants answered so far: `{ ok, failed, errors }`. */
    async refreshes(settleMs = 200) {
      const grants = await this.where({ event: 'grant', grantType: 'refresh_token' }, settleMs)
      return {
        ok: grants.filter((g) => g.ok).length,
        failed: grants.filter((g) => !g.ok).length,
        errors: grants.filter((g) => !g.ok).map((g) => g.error),
      }
    },
    /** Forgets the events so far (each race round counts its own). */
    clear() {
      events.length = 0
    },
    /** POSTs an MCP request with `token`; resolves to the HTTP status. */
    async call(token) {
      const response = await fetch(ready.resource, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      })
      await response.arrayBuffer()
      return response.status
    },
    async stop() {
      if (child.exitCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000)
      await exited
      clearTimeout(timer)
    },
  }
}

/** Runs the CLI; resolves to `{ code, stdout, stderr }`. */
export function cli(store, args, { timeoutMs = 30_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cliBinary, ['--store', store, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => (stdout += chunk))
    child.stderr.on('data', (chunk) => (stderr += chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.once('error', reject)
    // 'close', not 'exit': only then has all of stdout been read.
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

/** Resolves once `seconds` have passed (token lifetimes in these tests are seconds). */
export const wait = (seconds) => sleep(seconds * 1000)
