import { database } from '../../db/client'
import type { ThrottleRefusal } from '../../durable/throttle'
import type { RequestMeta } from '../../lib/request-meta'
import { announceTrip } from './announce'
import { apply, count } from './counters'
import { networkKeys, networkOf } from './keys'
import { tooManyRequests } from './refusal'

/**
 * Networks this isolate knows to be refused for unknown tokens, until when.
 * Only a copy of what the network's throttle object decided (which counts
 * exactly): it lets this isolate refuse before waking any session store.
 * Bounded, oldest first out.
 */
const refusedUntil = new Map<string, number>()
const REMEMBERED = 10_000

function remember(network: string, until: number) {
  refusedUntil.delete(network)
  refusedUntil.set(network, until)
  if (refusedUntil.size > REMEMBERED) refusedUntil.delete(refusedUntil.keys().next().value!)
}

function refusal(retryAfterMs: number): ThrottleRefusal {
  return { scope: 'token', key: '', retryAfterMs }
}

/**
 * Before a bearer token is looked up: refuses a network this isolate has
 * seen refused for sending tokens that name a session store but no session
 * in it. Costs nothing (no I/O) in every other case.
 */
export function refuseKnownTokenFlood(ip: string | null): void {
  if (refusedUntil.size === 0) return
  const network = networkOf(ip)
  const until = refusedUntil.get(network)
  if (until === undefined) return
  const now = Date.now()
  if (until <= now) {
    refusedUntil.delete(network)
    return
  }
  throw tooManyRequests(refusal(until - now))
}

/**
 * Counts a token that woke a session store that holds no such session
 * against the network's hourly budget (`token`). Refused (429) once the
 * budget is spent, here or in any other isolate; the block's start is
 * announced once on the platform trail.
 */
export async function countUnknownToken(env: Env, meta: RequestMeta): Promise<void> {
  const net = await networkKeys(env, meta.ip)
  const result = await apply(env, net.object, [count('token')])
  if (result.refused) {
    remember(net.network, Date.now() + (result.refused.retryAfterMs ?? 0))
    throw tooManyRequests(result.refused)
  }
  const state = result.counted[0]!
  if (state.tripped) {
    remember(net.network, state.blockedUntil)
    await announceTrip(env, database(env), meta, () => undefined, state, { tenantId: null, account: null, identity: { network: net.network } })
  }
}
