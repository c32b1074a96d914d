import type { QuotaPolicy, Throttled } from '../../durable/session-store'
import { Problem } from '../../lib/problem'
import { rateLimitHeaders } from '../../lib/rate-limit-headers'

/** The RateLimit-Policy and RateLimit fields for the request limits a session store reported. */
export function quotaHeaders(policies: QuotaPolicy[]) {
  return rateLimitHeaders(policies.map((p) => ({ ...p })))
}

const WHAT: Record<Throttled['scope'], (limit: number) => string> = {
  session: (n) => `This session has made ${n} requests this minute, the most one session may (half your organisation\u2019s per-minute limit).`,
  'tenant-minute': (n) => `Your organisation has made ${n} requests this minute, the most its plan or contract allows.`,
  'tenant-month': (n) => `Your organisation has used its monthly quota of ${n} requests; it renews at the start of next month (Japan time), or an operator can raise it.`,
  platform: (n) => `Your organisation has reached the platform\u2019s ceiling of ${n} requests a minute.`,
}

/**
 * The 429 for a request a session store refused: `Retry-After` until the
 * limit's window ends, and the RateLimit fields as they stand. Only this
 * tenant's (or session's) own requests are refused; no other tenant's
 * counts are touched (AV-11).
 */
export function quotaProblem(throttled: Throttled): Problem {
  return Problem.tooManyRequests(
    throttled.retryAfterSeconds,
    `${WHAT[throttled.scope](throttled.limit)} Try again in ${Math.max(1, Math.ceil(throttled.retryAfterSeconds))} seconds.`,
    throttled.policies,
  )
}
