// Per-call cost of connection.accessToken() on a valid token through N-API,
// beside the native Connection::access_token() measured in the same process
// and run (nativeAccessTokenNanos loops inside Rust). Run: node bench/access-token.mjs
import { OAuthClient, nativeAccessTokenNanos } from '../index.mjs'
import { startServer, headlessBrowser } from '../test/helpers.mjs'

const N = Number(process.env.ITERATIONS ?? 20_000)
const server = await startServer()
try {
  const client = new OAuthClient({ clientName: 'bench', openBrowser: headlessBrowser, callbackTimeoutMs: 20_000 })
  const connection = await client.connect({ kind: 'dynamic', serverUrl: server.url })

  async function js(n) {
    const started = process.hrtime.bigint()
    for (let i = 0; i < n; i++) await connection.accessToken()
    return Number(process.hrtime.bigint() - started) / n
  }
  async function jsConcurrent(n, width) {
    const started = process.hrtime.bigint()
    for (let i = 0; i < n / width; i++) await Promise.all(Array.from({ length: width }, () => connection.accessToken()))
    return Number(process.hrtime.bigint() - started) / n
  }
  await js(2_000) // warm up
  await nativeAccessTokenNanos(connection, 2_000)
  const rows = []
  for (let round = 0; round < 3; round++) {
    rows.push({
      native: await nativeAccessTokenNanos(connection, N),
      napiSequential: await js(N),
      napi100Concurrent: await jsConcurrent(N, 100),
    })
  }
  const median = (key) => rows.map((r) => r[key]).sort((a, b) => a - b)[1]
  const native = median('native')
  const sequential = median('napiSequential')
  const concurrent = median('napi100Concurrent')
  console.log(`node ${process.version}, ${N} calls x 3 rounds, median per call:`)
  console.log(`  native Connection::access_token()           ${(native / 1000).toFixed(2)} µs`)
  console.log(`  connection.accessToken() awaited one by one  ${(sequential / 1000).toFixed(2)} µs  (N-API overhead ${((sequential - native) / 1000).toFixed(2)} µs)`)
  console.log(`  connection.accessToken() 100 at a time       ${(concurrent / 1000).toFixed(2)} µs`)
} finally {
  await server.stop()
}
