// A user agent without a user, for the interop tests: opens an authorization URL
// and follows redirects with a cookie jar (oidc-provider keeps the interaction in
// cookies) through the server's automatic login and consent, until the redirect
// reaches the client's loopback callback, which it then loads, as a browser would.
//
//   node agent.mjs <authorization-url>      (what `mcp-oauth login --browser` runs)
//   import { authorize } from './agent.mjs' (what the Node tests pass as openBrowser)

/** Follows `url` to the loopback callback; resolves to the callback's status. */
export async function authorize(url, { maxHops = 20, timeoutMs = 15_000 } = {}) {
  const jar = new Map()
  const signal = AbortSignal.timeout(timeoutMs)
  let next = new URL(url)
  for (let hop = 0; hop < maxHops; hop++) {
    const cookie = [...jar].map(([name, value]) => `${name}=${value}`).join('; ')
    const response = await fetch(next, {
      redirect: 'manual',
      signal,
      headers: cookie ? { cookie } : {},
    })
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';')
      const at = pair.indexOf('=')
      const [name, value] = [pair.slice(0, at).trim(), pair.slice(at + 1).trim()]
      if (/expires=Thu, 01 Jan 1970/i.test(line) || value === '') jar.delete(name)
      else jar.set(name, value)
    }
    await response.arrayBuffer()
    const location = response.headers.get('location')
    if (response.status < 300 || response.status >= 400 || !location) {
      if (next.pathname.endsWith('/callback')) return response.status
      throw new Error(`the authorization ended at ${next.origin}${next.pathname} with HTTP ${response.status}`)
    }
    next = new URL(location, next)
  }
  throw new Error(`more than ${maxHops} redirects`)
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const url = process.argv.at(-1)
  authorize(url).then(
    (status) => process.exit(status < 400 ? 0 : 1),
    (error) => {
      process.stderr.write(`agent: ${error.message}\n`)
      process.exit(1)
    },
  )
}
