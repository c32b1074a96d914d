import type { Database } from '../../db/client'
import type { CounterState } from '../../durable/throttle'
import type { Defer } from '../../lib/defer'
import type { RequestMeta } from '../../lib/request-meta'
import { announceTrip } from './announce'
import { apply, applyWhenFree, attemptId, fail, pass, reserve } from './counters'
import { networkKeys } from './keys'
import { assertNotRefused } from './refusal'

export type NetworkGate = {
  /** The attempt failed: counted; a block it started is announced, once. */
  failed(db: Database, meta: RequestMeta, defer: Defer): Promise<void>
  /** The attempt was fine: not counted. */
  passed(): Promise<void>
}

/**
 * Takes a place for an unauthenticated attempt in the client network's
 * budget of `scope` before the work it guards (bootstrap tokens today), so a
 * refused one costs one RPC: no D1 read and no audit append. Places held by
 * attempts in flight count, so racing attempts never exceed the budget.
 */
export async function openNetworkGate(env: Env, scope: 'bootstrap' | 'reset_ip', ip: string | null): Promise<NetworkGate> {
  const id = attemptId()
  const net = await networkKeys(env, ip)
  assertNotRefused((await applyWhenFree(env, net.object, [reserve(id, scope)])).refused)
  return {
    async failed(db, meta, defer) {
      const [state] = (await apply(env, net.object, [fail(id, scope)])).counted as [CounterState]
      await announceTrip(env, db, meta, defer, state, { tenantId: null, account: null, identity: { network: net.network } })
    },
    async passed() {
      await apply(env, net.object, [pass(id, scope)])
    },
  }
}
