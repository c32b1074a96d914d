import type { Database } from '../../db/client'
import type { CounterState, ThrottleRefusal } from '../../durable/throttle'
import type { Defer } from '../../lib/defer'
import type { RequestMeta } from '../../lib/request-meta'
import { announceTrip, type TripSubject } from './announce'
import { abandon, apply, applyWhenFree, attemptId, count, fail, pass, peek, reserve } from './counters'
import { accountObject, networkKeys, type AccountKey } from './keys'
import { tooManyRequests } from './refusal'

/** What a failed or passed sign-in reports back to its gate. */
export type SignInGate = {
  /**
   * Whether the account's second step is locked (`mfa`). Only a caller past
   * the password may act on it: refusing earlier would reveal that the
   * account exists.
   */
  readonly mfaLocked: boolean
  /** The attempt failed: counted against the network, the pair and the account; announces any block it started. */
  failed(db: Database, meta: RequestMeta, defer: Defer, subject: TripSubject): Promise<void>
  /**
   * The attempt was refused before the password was tried (a source no
   * role may use): the pair and the account do not count it, so people
   * outside an allowlist cannot lock accounts they cannot even try; the
   * network still will, when failed() follows.
   */
  untried(): Promise<void>
  /**
   * The password was right: the pair's and the account's runs of failures
   * end and the network does not count it. With `mailsCode`, the code the
   * sign-in is about to mail counts against the account's hourly cap (429
   * `mfa_mail` when it is spent).
   */
  passed(db: Database, meta: RequestMeta, defer: Defer, subject: TripSubject, options: { mailsCode: boolean }): Promise<void>
}

/**
 * The throttle in front of a password sign-in (tenant or operator), before
 * any D1 read or password verify. The attempt takes a place first in the
 * client network's daily budget (one RPC; a list attack from one address
 * ends here), then in the account's runs from that network (`pair`) and
 * from anywhere (`account`) in the account's object (a second RPC, which
 * also tells whether the account's second step is locked). Places held by
 * attempts in flight count, so racing attempts never get more password
 * verifies than the limits; a burst of right ones waits its turn. The
 * outcome settles the places (one RPC per object, in parallel). A refusal
 * is a 429 that depends only on the key, never on whether the account exists.
 */
export async function openSignInGate(env: Env, key: AccountKey, ip: string | null): Promise<SignInGate> {
  const id = attemptId()
  const [object, net] = await Promise.all([accountObject(env, key), networkKeys(env, ip)])
  const onNetwork = await applyWhenFree(env, net.object, [reserve(id, 'ip')])
  if (onNetwork.refused) throw tooManyRequests(onNetwork.refused)
  const giveBack = () => apply(env, net.object, [abandon(id, 'ip')])
  const onAccount = await applyWhenFree(env, object, [reserve(id, 'pair', net.pairKey), reserve(id, 'account'), peek('mfa')]).catch(async (error) => {
    await giveBack()
    throw error
  })
  if (onAccount.refused) {
    await giveBack()
    throw tooManyRequests(onAccount.refused)
  }
  let tried = true
  const withNetwork = (subject: TripSubject): TripSubject => ({ ...subject, identity: { ...subject.identity, network: net.network } })
  return {
    mfaLocked: onAccount.peeked[0]!.locked,
    async failed(db, meta, defer, subject) {
      const [account, network] = await Promise.all([
        tried ? apply(env, object, [fail(id, 'pair', net.pairKey), fail(id, 'account')]) : null,
        apply(env, net.object, [fail(id, 'ip')]),
      ])
      if (account) {
        const [pairState, accountState] = account.counted as [CounterState, CounterState]
        await announceTrip(env, db, meta, defer, pairState, withNetwork(subject))
        await announceTrip(env, db, meta, defer, accountState, subject)
      }
      await announceTrip(env, db, meta, defer, network.counted[0]!, { tenantId: null, account: null, identity: { network: net.network } })
    },
    async untried() {
      tried = false
      await apply(env, object, [abandon(id, 'pair', net.pairKey), abandon(id, 'account')])
    },
    async passed(db, meta, defer, subject, { mailsCode }) {
      const [account] = await Promise.all([
        apply(env, object, [pass(id, 'pair', net.pairKey), pass(id, 'account'), ...(mailsCode ? [count('mfa_mail')] : [])]),
        apply(env, net.object, [pass(id, 'ip')]),
      ])
      if (account.refused) throw tooManyRequests(account.refused)
      if (mailsCode) await announceTrip(env, db, meta, defer, account.counted[0]!, subject)
    },
  }
}

/** The 429 for an account whose second step is locked, as every key of the scope answers it. */
export function mfaLocked(): ThrottleRefusal {
  return { scope: 'mfa', key: '', retryAfterMs: null }
}
