import type { Context, MiddlewareHandler } from 'hono'
import { bearerToken } from '../../lib/bearer'
import { maintenanceProblem } from '../../lib/maintenance'
import { Problem } from '../../lib/problem'
import { requestMeta, requestSource } from '../../lib/request-meta'
import type { Principal } from '../../schemas/principal'
import { operatorSourceVerdict, refuseSource } from '../../services/policy/source-restrictions'
import { checkSession } from '../../services/identity/session-check'
import { reachesSessionStore } from '../../services/identity/sessions'
import { countUnknownToken, refuseKnownTokenFlood } from '../../services/abuse/token-flood'
import { sendUsageAlert } from '../../services/usage/alerts'
import { quotaHeaders, quotaProblem } from '../../services/usage/quota'

export type AuthenticateOptions = {
  /** Which kind of account may call: tenant users or platform operators. */
  audience: 'tenant' | 'operator'
  /**
   * Let a password-change-only session through (only the password route
   * does). Default false: such a session gets 403 `password-change-required`.
   */
  allowPasswordChange?: boolean
  /**
   * Where the session token comes from. Default: the `Authorization: Bearer`
   * header, and nothing else: the API never reads a cookie, so a browser's
   * ambient credentials cannot act on it. Console routes pass their cookie reader.
   */
  token?: (c: Context) => string | null | undefined
}

export type AuthenticateVariables = { principal: Principal; requestId: string }

/**
 * Resolves `Authorization: Bearer <token>` to a principal through the session store, in one Durable Object call that
 * also checks the request's source (IP allowlist, client certificate) against
 * the tenant's rules for the session's role (about once a minute per account,
 * a D1 read and a second call as well, which heal a push that failed). Operators are checked against
 * the platform allowlist. A tenant token never passes as an operator's, nor
 * the reverse. A refused source is audited and answers 403 `source-not-allowed`.
 * A token that wakes a session store holding no such session counts against
 * the client network (100 an hour, then 429); a network this isolate knows
 * to be refused is answered before any store is woken.
 * While the tenant's maintenance flag (held in the same store) is on, the
 * answer is 503 `maintenance` and nothing is counted.
 * The same call counts the request against the tenant's and the session's
 * request limits: over one, 429 `too-many-requests` (nothing else is done);
 * within them, the response carries the RateLimit fields, and a monthly
 * threshold just reached sends its alert mail after the response.
 *
 * @example router.use('/api/v1/records/*', authenticate({ audience: 'tenant' }))
 */
export const authenticate = ({
  audience,
  allowPasswordChange = false,
  token: tokenOf = (c) => bearerToken(c.req.header('Authorization')),
}: AuthenticateOptions): MiddlewareHandler<{ Bindings: Env; Variables: AuthenticateVariables }> =>
  async function authenticate(c, next) {
    const token = tokenOf(c)
    if (!token) throw Problem.unauthenticated()
    const source = requestSource(c)
    refuseKnownTokenFlood(source.ip)
    const result = await checkSession(c.env, token, source)
    const expected = audience === 'tenant' ? 'user' : 'operator'
    const principal = result.ok || result.reason === 'source' || result.reason === 'throttled' || result.reason === 'maintenance' ? result.principal : null
    if (!principal || principal.actorType !== expected) {
      if (!result.ok && result.reason === 'unknown' && reachesSessionStore(token)) await countUnknownToken(c.env, requestMeta(c))
      throw Problem.unauthenticated('The session is unknown, expired or signed out: sign in again.')
    }
    c.set('principal', principal)
    if (!result.ok && result.reason === 'maintenance') {
      throw maintenanceProblem(result.flag)
    }
    if (!result.ok && result.reason === 'throttled') throw quotaProblem(result)
    if (result.ok && result.quota) {
      for (const [name, value] of Object.entries(quotaHeaders(result.quota.policies))) c.header(name, value)
      const alert = result.quota.alert
      if (alert) {
        const sending = sendUsageAlert(c.env, principal.tenantId!, alert, requestMeta(c)).catch((error) => {
          console.error(JSON.stringify({ level: 'error', msg: 'usage alert failed', error: error instanceof Error ? error.name : 'unknown' }))
        })
        try {
          c.executionCtx.waitUntil(sending)
        } catch {
          // No execution context (a unit test's app.request): it simply runs on.
        }
      }
    }
    if (!result.ok && result.reason === 'source') await refuseSource(c.env, requestMeta(c), principal, result)
    if (audience === 'operator') {
      const verdict = operatorSourceVerdict(c.env, source)
      if (!verdict.ok) await refuseSource(c.env, requestMeta(c), principal, verdict)
    }
    if (principal.kind === 'password_change' && !allowPasswordChange) {
      const route = audience === 'tenant' ? '/api/v1/auth/password' : '/ops/v1/auth/password'
      throw Problem.forbidden(`Change your password first (POST ${route}); this session can do nothing else.`, 'password-change-required')
    }
    await next()
  }
