import type { ThrottleRefusal } from '../../durable/throttle'
import { Problem } from '../../lib/problem'
import { LIMITS, LOCK_RETRY_HINT_SECONDS, REFUSAL_DETAIL, type Scope } from './limits'

/**
 * The 429 of a refused throttle: built from the scope's rule and the wait
 * alone, so it is the same for every key of the scope, known account or not.
 * A window names its length as `w`; a growing wait names how long a run of
 * failures is remembered; a lock names no window and no reset time, since it
 * only lifts by an unlock or a password reset.
 */
export function tooManyRequests(refusal: ThrottleRefusal): Problem {
  const scope = refusal.scope as Scope
  const rule = LIMITS[scope]
  const detail = REFUSAL_DETAIL[scope]
  if (refusal.retryAfterMs === null) {
    return Problem.tooManyRequests(LOCK_RETRY_HINT_SECONDS, detail, [{ name: scope, quota: rule.limit, remaining: 0 }])
  }
  const wait = refusal.retryAfterMs / 1000
  const windowMs = rule.kind === 'window' ? rule.windowMs : rule.forgetMs
  return Problem.tooManyRequests(wait, detail, [{ name: scope, quota: rule.limit, windowSeconds: windowMs / 1000, remaining: 0, resetSeconds: wait }])
}

/** Throws the 429 when a throttle refused. */
export function assertNotRefused(refusal: ThrottleRefusal | null): void {
  if (refusal) throw tooManyRequests(refusal)
}
