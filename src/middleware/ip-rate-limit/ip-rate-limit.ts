import type { Context, MiddlewareHandler } from 'hono'
import ipaddr from 'ipaddr.js'
import { bearerToken } from '../../lib/bearer'
import { Problem } from '../../lib/problem'
import { ADDRESS_CEILING } from '../../schemas/limits'
import { looksLikeSessionToken } from '../../services/identity/sessions'

/** A ceiling: a rate-limiting binding and the numbers wrangler.toml configures it with. */
export type IpCeiling = {
  /** Policy name in the RateLimit fields. */
  name: string
  binding: (env: Env) => RateLimit
  /** As in wrangler.toml `[[ratelimits]] simple`: the binding itself does not report them. */
  limit: number
  periodSeconds: number
}

/** wrangler.toml `ANON_IP_LIMIT`: what one client address may send a minute that no session store meters. */
export const IP_CEILING: IpCeiling = { name: 'ip-minute', binding: (env) => env.ANON_IP_LIMIT, ...ADDRESS_CEILING }

/** Whether the request carries a session token (and so will be metered by its session store on a signed-in route). */
export function carriesSessionToken(c: Context): boolean {
  return looksLikeSessionToken(bearerToken(c.req.header('Authorization')))
}

export type IpRateLimitOptions = {
  /**
   * Which requests count. Default: all but API calls (`/api/`, `/ops/`) with
   * a session token. A signed-in route meters its requests exactly in the
   * session store (per session and tenant, in the call it makes anyway), so
   * they skip the binding; the API routes that sign no one in count those
   * requests themselves (see routes/router.ts), so a made-up token buys no
   * way around the ceiling.
   */
  counts?: (c: Context) => boolean
  /**
   * Requests never counted. Default: `GET /health/live`, which touches no
   * storage, costs less than the check, and is what load balancers poll.
   */
  skip?: (c: Context) => boolean
  /** Default IP_CEILING. */
  ceiling?: IpCeiling
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
 * binding, before any D1 or Durable Object work (the first middleware after
 * the request ID, log and headers). Over the ceiling: 429
 * `too-many-requests` with `Retry-After` and the RateLimit fields. The
 * binding counts per Cloudflare location and settles eventually, so this is
 * a cheap outer layer and never the only limit on anything.
 *
 * A request without `CF-Connecting-IP` did not come through Cloudflare's
 * edge (which always sets it): a service binding or a local test harness.
 * There is no address to count it under, so it passes. If the binding
 * itself fails, the request passes too (logged): the limits behind it still
 * hold, and a broken counter must not take the service down.
 *
 * @example app.use(ipRateLimit())
 */
export const ipRateLimit = ({
  counts = (c) => !(/^\/(api|ops)\//.test(c.req.path) && carriesSessionToken(c)),
  skip = (c) => c.req.method === 'GET' && c.req.path === '/health/live',
  ceiling = IP_CEILING,
}: IpRateLimitOptions = {}): MiddlewareHandler<{ Bindings: Env }> =>
  async function ipRateLimit(c, next) {
    const ip = c.req.header('CF-Connecting-IP')
    if (!ip || skip(c) || !counts(c)) return next()
    let allowed = true
    try {
      allowed = (await ceiling.binding(c.env).limit({ key: clientKey(ip) })).success
    } catch (error) {
      console.error(JSON.stringify({ level: 'error', msg: 'rate limit binding failed', ceiling: ceiling.name, error: error instanceof Error ? error.name : 'unknown' }))
    }
    if (allowed) return next()
    // The binding reports no counts: nothing is left, and a full period is the longest wait.
    throw Problem.tooManyRequests(
      ceiling.periodSeconds,
      `Too many requests from your network: at most ${ceiling.limit} every ${ceiling.periodSeconds} seconds. Try again in ${ceiling.periodSeconds} seconds.`,
      [{ name: ceiling.name, quota: ceiling.limit, windowSeconds: ceiling.periodSeconds, remaining: 0, resetSeconds: ceiling.periodSeconds }],
    )
  }
