import type { Context } from 'hono'
import { mac, macMatches } from '../../../lib/crypto'
import { Problem } from '../../../lib/problem'
import { consoleCsrfKey } from '../../../services/keys/platform-keys'
import { CSRF_FIELD } from '../../../views/components'

/** The CSRF token of a session: the MAC of its id, so it needs no storage and ends with the session. */
export async function csrfToken(env: Env, sessionId: string): Promise<string> {
  return mac(await consoleCsrfKey(env), `console-csrf:${sessionId}`)
}

export function csrfRefused() {
  return Problem.forbidden('The form is not from this site or its token does not match this session.', 'csrf')
}

/**
 * Refuses a state-changing request a browser sent on another site's behalf:
 * `Sec-Fetch-Site` other than same-origin (or none, typed by the user), or an
 * `Origin` that is not ours. Clients that send neither are not browsers, and
 * the session's token still guards them.
 */
export function assertSameOrigin(c: Context) {
  const site = c.req.header('Sec-Fetch-Site')
  if (site && site !== 'same-origin' && site !== 'none') throw csrfRefused()
  const origin = c.req.header('Origin')
  // Our pages' `Referrer-Policy: no-referrer` makes browsers send `Origin: null` on their own form posts;
  // then only a browser's own word that the post is same-origin lets it through.
  if (origin === 'null') {
    if (site !== 'same-origin') throw csrfRefused()
  } else if (origin && origin !== new URL(c.req.url).origin) throw csrfRefused()
}

/** The submitted form's token matches the session's (constant time). */
export async function assertCsrfToken(env: Env, sessionId: string, submitted: unknown) {
  if (typeof submitted !== 'string' || !submitted) throw csrfRefused()
  if (!(await macMatches(await consoleCsrfKey(env), `console-csrf:${sessionId}`, submitted))) throw csrfRefused()
}

export { CSRF_FIELD }
