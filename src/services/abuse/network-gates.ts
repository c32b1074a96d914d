import type { Database } from '../../db/client'
import type { CounterState } from '../../durable/throttle'
import type { Defer } from '../../lib/defer'
import type { RequestMeta } from '../../lib/request-meta'
import { announceTrip } from './announce'
import { apply, attempt, refund } from './counters'
import { networkKeys } from './keys'
import { assertNotRefused } from './refusal'

export type NetworkGate = {
  /** The attempt failed (it stays counted): a block it started is announced, once. */
  failed(db: Database, meta: RequestMeta, defer: Defer): Promise<void>
  /** The attempt was fine: the network gets it back. */
  passed(): Promise<void>
}

/**
 * Counts an unauthenticated attempt against the client network's budget of
 * `scope` before the work it guards (bootstrap tokens today), so a refused
 * one costs one RPC: no D1 read and no audit append.
 */
export async function openNetworkGate(env: Env, scope: 'bootstrap' | 'reset_ip', ip: string | null): Promise<NetworkGate> {
  const net = await networkKeys(env, ip)
  const result = await apply(env, net.object, [attempt(scope)])
  assertNotRefused(result.refused)
  const state = result.counted[0] as CounterState
  return {
    async failed(db, meta, defer) {
      await announceTrip(env, db, meta, defer, state, { tenantId: null, account: null, identity: { network: net.network } })
    },
    async passed() {
      await apply(env, net.object, [refund(scope)])
    },
  }
}
