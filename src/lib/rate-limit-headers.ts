/**
 * The `RateLimit-Policy` and `RateLimit` response fields of the IETF draft
 * (draft-ietf-httpapi-ratelimit-headers): Structured Field lists with one
 * item per policy, named by a quoted string. `RateLimit-Policy` states each
 * quota (`q`) and its window in seconds (`w`); `RateLimit` the units left
 * (`r`) and the seconds until the window resets (`t`).
 *
 * @example rateLimitHeaders([{ name: 'ip-minute', quota: 300, windowSeconds: 60, remaining: 0, resetSeconds: 60 }])
 * // { 'RateLimit-Policy': '"ip-minute";q=300;w=60', RateLimit: '"ip-minute";r=0;t=60' }
 */
export type RateLimitState = {
  /** Policy identifier: letters, digits, `-` and `_` only (it is written as an sf-string). */
  name: string
  quota: number
  windowSeconds?: number
  remaining: number
  /** Seconds until the quota renews; absent when it does not renew by itself (a lock). */
  resetSeconds?: number
}

export function rateLimitHeaders(policies: RateLimitState[]): Record<'RateLimit-Policy' | 'RateLimit', string> {
  const id = (p: RateLimitState) => `"${p.name.replace(/[^A-Za-z0-9_-]/g, '')}"`
  const whole = (n: number) => Math.max(0, Math.floor(n))
  return {
    'RateLimit-Policy': policies
      .map((p) => `${id(p)};q=${whole(p.quota)}${p.windowSeconds === undefined ? '' : `;w=${whole(p.windowSeconds)}`}`)
      .join(', '),
    RateLimit: policies
      .map((p) => `${id(p)};r=${whole(p.remaining)}${p.resetSeconds === undefined ? '' : `;t=${Math.max(0, Math.ceil(p.resetSeconds))}`}`)
      .join(', '),
  }
}
