// Per-call cost of `await connection.accessToken()` on a valid token through
// N-API, beside the native Connection::access_token() measured in the same
// process and run (a loop inside Rust), and beside the same call forced through
// the addon's runtime (the path a due refresh takes). Run: node bench/access-token.mjs
import { createRequire } from 'node:module'
import { OAuthClient } from '../index.mjs'
import { startServer, headlessBrowser } from '../test/helpers.mjs'

// Benchmark-only bindings: in binding.js, not exported by the package.
const { benchNativeAccessTokenNanos, benchAccessTokenOnRuntime } = createRequire(import.meta.url)('../binding.js')

const N = Number(process.env.ITERATIONS ?? 20_000)
const server = await startServer()
try {
  const client = new OAuthClient({ clientName: 'bench', openBrowser: headlessBrowser, callbackTimeoutMs: 20_000 })
  const connection = await client.connect({ kind: 'dynamic', serverUrl: server.url })

  async function perCall(n, call) {
    const started = process.hrtime.bigint()
    for (let i = 0; i < n; i++) await call()
    return Number(process.hrtime.bigint() - started) / n
  }
  async function perCallConcurrent(n, width, call) {
    const started = process.hrtime.bigint()
    for (let i = 0; i < n / width; i++) await Promise.all(Array.from({ length: width }, call))
    return Number(process.hrtime.bigint() - started) / n
  }
  const fast = () => connection.accessToken()
  const onRuntime = () => benchAccessTokenOnRuntime(connection)
  // Warm up every path.
  await perCall(2_000, fast)
  await perCall(2_000, onRuntime)
  await benchNativeAccessTokenNanos(connection, 2_000)
  const rows = []
  for (let round = 0; round < 3; round++) {
    rows.push({
      native: await benchNativeAccessTokenNanos(connection, N),
      fast: await perCall(N, fast),
      fast100: await perCallConcurrent(N, 100, fast),
      runtime: await perCall(N / 4, onRuntime),
    })
  }
  const median = (key) => rows.map((r) => r[key]).sort((a, b) => a - b)[1]
  const us = (ns) => `${(ns / 1000).toFixed(2).padStart(7)} µs`
  const native = median('native')
  console.log(`node ${process.version}, ${N} calls x 3 rounds, median per call, valid token:`)
  console.log(`  native Connection::access_token() (inside Rust)          ${us(native)}`)
  console.log(`  await connection.accessToken() (N-API, synchronous path) ${us(median('fast'))}  (${(median('fast') / native).toFixed(1)}x native)`)
  console.log(`  connection.accessToken() 100 at a time                   ${us(median('fast100'))}`)
  console.log(`  the same call through the addon's runtime (async path)   ${us(median('runtime'))}  (${(median('runtime') / native).toFixed(1)}x native)`)
} finally {
  await server.stop()
}
