import type { Context, MiddlewareHandler } from 'hono'
import ipaddr from 'ipaddr.js'
import { Problem } from '../../lib/problem'
import { rateLimitHeaders } from '../../lib/rate-limit-headers'

/** One ceiling: a rate-limiting binding and the numbers it is configured with in wrangler.toml. */
export type IpCeiling = {
  /** Policy name in the RateLimit fields. */
  name: string
  binding: (env: Env) => RateLimit
  /** As in wrangler.toml `[ratelimits.simple]`: the binding itself does not report them. */
  limit: number
  periodSeconds: number
}

/**
 * The two ceilings of wrangler.toml. Anonymous traffic (no bearer token) is
 * what costs us before anyone is known: sign-in, MFA answers, bootstrap.
 * Traffic with a token gets twice the largest plan's per-tenant minute: it
 * only bounds how often one address can wake session stores; the exact
 * per-tenant and per-session limits are counted inside the store.
 */
export const IP_CEILINGS = {
  anonymous: { name: 'ip', binding: (env) => env.ANON_IP_LIMIT, limit: 300, periodSeconds: 60 },
  token: { name: 'ip-token', binding: (env) => env.TOKEN_IP_LIMIT, limit: 6000, periodSeconds: 60 },
} as const satisfies Record<string, IpCeiling>

export type IpRateLimitOptions = {
  /**
   * Requests not counted. Default: `GET /health/live`, which touches no
   * storage and costs less than the check, and which load balancers poll.
   */
  skip?: (c: Context) => boolean
  /** Default IP_CEILINGS. */
  ceilings?: { anonymous: IpCeiling; token: IpCeiling }
}

/**
 * The key a client is counted under: its IPv4 address, or its IPv6 /64 (one
 * subscriber usually holds a whole /64, so counting single IPv6 addresses
 * would give each of them 2^64 budgets). Unparsable values count as one.
 */
export function clientKey(ip: string): string {
  try {
    const parsed = ipaddr.parse(ip.trim())
    if (parsed.kind() === 'ipv4') return parsed.toString()
    const v6 = parsed as ipaddr.IPv6
    if (v6.isIPv4MappedAddress()) return v6.toIPv4Address().toString()
    return `${ipaddr.IPv6.networkAddressFromCIDR(`${v6.toString()}/64`).toString()}/64`
  } catch {
    return 'unparsable'
  }
}

/**
 * Per-client-address request ceiling through the Workers rate-limiting
 * binding, before any D1 or Durable Object work: the first middleware after
 * the request ID, log and headers. Over the ceiling: 429
 * `too-many-requests` with `Retry-After` and the RateLimit fields. The
 * binding counts per Cloudflare location and settles eventually, so this is
 * a cheap outer layer; it is never the only limit on anything.
 *
 * A request without `CF-Connecting-IP` did not come through Cloudflare's
 * edge (which always sets it): a service binding or a local test harness.
 * There is no address to count it under, so it passes.
 * If the binding itself fails, the request passes too (logged): the exact
 * limits behind it still hold, and a broken counter must not take the
 * service down.
 *
 * @example app.use(ipRateLimit())
 */
export const ipRateLimit = ({
  skip = (c) => c.req.method === 'GET' && c.req.path === '/health/live',
  ceilings = IP_CEILINGS,
}: IpRateLimitOptions = {}): MiddlewareHandler<{ Bindings: Env }> =>
  async function ipRateLimit(c, next) {
    const ip = c.req.header('CF-Connecting-IP')
    if (!ip || skip(c)) return next()
    const ceiling = c.req.header('Authorization') ? ceilings.token : ceilings.anonymous
    let allowed = true
    try {
      allowed = (await ceiling.binding(c.env).limit({ key: clientKey(ip) })).success
    } catch (error) {
      console.error(JSON.stringify({ level: 'error', msg: 'rate limit binding failed', ceiling: ceiling.name, error: error instanceof Error ? error.name : 'unknown' }))
    }
    if (allowed) return next()
    const problem = Problem.tooManyRequests(
      ceiling.periodSeconds,
      `Too many requests from your network: at most ${ceiling.limit} every ${ceiling.periodSeconds} seconds. Try again in ${ceiling.periodSeconds} seconds.`,
    )
    // The binding reports no counts: nothing is left, and a full period is the longest wait.
    Object.assign(
      problem.headers,
      rateLimitHeaders([{ name: ceiling.name, quota: ceiling.limit, windowSeconds: ceiling.periodSeconds, remaining: 0, resetSeconds: ceiling.periodSeconds }]),
    )
    throw problem
  }
