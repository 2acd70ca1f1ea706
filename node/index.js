'use strict'
// The package entry (CommonJS; index.mjs re-exports it for ES modules). It loads
// the native binding and adds `connection.fetch`, which converts a WHATWG
// `Request` into `Connection.send` arguments and the answer into a `Response`.
// No OAuth logic lives here: `send` does bearer, refresh and step-up natively.

const binding = require('./binding.js')

// Statuses whose Response must not have a body (the constructor throws otherwise).
const NULL_BODY = new Set([101, 103, 204, 205, 304])

function bodyStream(body, signal) {
  const onAbort = () => body.cancel()
  signal?.addEventListener('abort', onAbort, { once: true })
  const done = () => signal?.removeEventListener('abort', onAbort)
  return new ReadableStream({
    async pull(controller) {
      try {
        const chunk = await body.read()
        if (chunk === null) {
          done()
          controller.close()
        } else {
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
        }
      } catch (error) {
        done()
        controller.error(error)
      }
    },
    cancel() {
      done()
      body.cancel()
    },
  })
}

async function fetchWith(connection, input, init) {
  const request = new Request(input, init)
  const body = request.body === null ? undefined : Buffer.from(await request.arrayBuffer())
  const head = await connection.send(
    { method: request.method, url: request.url, headers: [...request.headers], body },
    request.signal,
  )
  const response = new Response(
    NULL_BODY.has(head.status) || request.method === 'HEAD' ? null : bodyStream(head.body, request.signal),
    { status: head.status, statusText: head.statusText, headers: head.headers },
  )
  Object.defineProperty(response, 'url', { value: request.url })
  return response
}

const bound = new WeakMap()
Object.defineProperty(binding.Connection.prototype, 'fetch', {
  enumerable: true,
  get() {
    let fetch = bound.get(this)
    if (fetch === undefined) {
      fetch = (input, init) => fetchWith(this, input, init)
      bound.set(this, fetch)
    }
    return fetch
  },
})

// The benchmark helpers (node/bench/) stay in binding.js: not part of the package.
const api = { ...binding }
delete api.benchAccessTokenOnRuntime
delete api.benchNativeAccessTokenNanos
module.exports = api
