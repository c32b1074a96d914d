import type { Database } from '../../db/client'
import type { CounterState } from '../../durable/throttle'
import type { SqlWrite } from '../../durable/audit-chain'
import type { Defer } from '../../lib/defer'
import type { RequestMeta } from '../../lib/request-meta'
import { announceTrip, type TripSubject } from './announce'
import { abandon, apply, applyWhenFree, attemptId, check, count, fail, pass, refund, reserve } from './counters'
import { accountObject, networkKeys, type AccountKey } from './keys'
import { assertNotRefused } from './refusal'

export type FactorGate = {
  /** The code was wrong: counted; a lock it started is announced, `writes` (ending the account's challenges) with it. */
  failed(db: Database, meta: RequestMeta, defer: Defer, subject: TripSubject, writes: SqlWrite[]): Promise<void>
  /** The code was right: the run of wrong codes ends, and a mailed code that was used no longer counts against the mail cap. */
  passed(options: { mailed: boolean }): Promise<void>
  /** No code was checked after all (the challenge died meanwhile): nothing counts. */
  untried(): Promise<void>
}

/**
 * Takes a place for one second-factor try of an account (a sign-in
 * challenge's answer or a step-up code) in its run of wrong codes across all
 * challenges, before the code is checked; refused with 429 `mfa` while the
 * run has locked the account's second step. One RPC, and one for the outcome.
 */
export async function openFactorGate(env: Env, key: AccountKey): Promise<FactorGate> {
  const id = attemptId()
  const object = await accountObject(env, key)
  assertNotRefused((await applyWhenFree(env, object, [reserve(id, 'mfa')])).refused)
  return {
    async failed(db, meta, defer, subject, writes) {
      const [state] = (await apply(env, object, [fail(id, 'mfa')])).counted as [CounterState]
      await announceTrip(env, db, meta, defer, state, subject, writes)
    },
    async passed({ mailed }) {
      await apply(env, object, [pass(id, 'mfa'), ...(mailed ? [refund('mfa_mail')] : [])])
    },
    async untried() {
      await apply(env, object, [abandon(id, 'mfa')])
    },
  }
}

/**
 * Counts a code about to be mailed to the account outside a sign-in (a
 * step-up code) against its hourly cap of unanswered mailed codes; refused
 * while the account's second step is locked or the cap is spent. Sign-in
 * challenges count theirs through the sign-in gate.
 */
export async function countMailedCode(env: Env, db: Database, meta: RequestMeta, defer: Defer, key: AccountKey, subject: TripSubject): Promise<void> {
  const result = await apply(env, await accountObject(env, key), [check('mfa'), count('mfa_mail')])
  assertNotRefused(result.refused)
  await announceTrip(env, db, meta, defer, result.counted[0]!, subject)
}

/** Before a challenge is looked up: refuses a network that answered too many dead or unknown challenges (one RPC, nothing counted). */
export async function checkChallengeNetwork(env: Env, ip: string | null): Promise<void> {
  const net = await networkKeys(env, ip)
  assertNotRefused((await apply(env, net.object, [check('challenge')])).refused)
}

/** Counts an answer to a dead or unknown challenge against the client network, announcing a block it starts. */
export async function countDeadChallenge(env: Env, db: Database, meta: RequestMeta, defer: Defer): Promise<void> {
  const net = await networkKeys(env, meta.ip)
  const result = await apply(env, net.object, [count('challenge')])
  assertNotRefused(result.refused)
  await announceTrip(env, db, meta, defer, result.counted[0]!, { tenantId: null, account: null, identity: { network: net.network } })
}
