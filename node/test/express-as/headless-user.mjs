#!/usr/bin/env node
// A user without a browser, for the example app's consent page: opens the
// authorization URL, approves (or denies) on the consent page, and follows the
// redirect back to the client. As a program (`headless-user.mjs <url>`) it is a
// `--browser` for the CLI and the conformance suite's "browser".

/** Where one redirect step leads, or the page reached. */
async function step(url, init = {}) {
  const response = await fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(15_000) })
  const text = await response.text()
  return { status: response.status, location: response.headers.get('location'), text }
}

/**
 * Signs in through `authorizationUrl`. Returns the URL the authorization server
 * sent the user back to (with `code` or `error`). With `deliver`, that URL is
 * also opened, as a browser would (the client's loopback listener answers).
 */
export async function signIn(authorizationUrl, { decision = 'approve', deliver = true } = {}) {
  let reply = await step(authorizationUrl)
  if (reply.status === 200) {
    const form = /<form method="post" action="([^"]+)">[\s\S]*?name="pending" value="([^"]+)"/.exec(reply.text)
    if (!form) throw new Error(`no consent form on the authorization page: ${reply.text.slice(0, 200)}`)
    const action = new URL(form[1], authorizationUrl)
    reply = await step(action, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ pending: form[2], decision }).toString(),
    })
  }
  if (reply.status !== 302 || !reply.location) {
    throw new Error(`the authorization server answered ${reply.status} without a redirect: ${reply.text.slice(0, 200)}`)
  }
  if (deliver) {
    const callback = await fetch(reply.location, { signal: AbortSignal.timeout(15_000) })
    await callback.arrayBuffer()
  }
  return reply.location
}

if (import.meta.url === `file://${process.argv[1]}`) {
  signIn(process.argv[2]).catch((error) => {
    console.error(`headless-user: ${error.message}`)
    process.exit(1)
  })
}
