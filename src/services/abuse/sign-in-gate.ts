import type { Database } from '../../db/client'
import type { CounterState, ThrottleRefusal } from '../../durable/throttle'
import type { Defer } from '../../lib/defer'
import type { RequestMeta } from '../../lib/request-meta'
import { announceTrip, type TripSubject } from './announce'
import { apply, attempt, peek, refund, reset } from './counters'
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
  /** The attempt failed (it is already counted): announces any block it started. */
  failed(db: Database, meta: RequestMeta, defer: Defer, subject: TripSubject): Promise<void>
  /**
   * The password was right: the pair's and the account's runs of failures
   * end and the network's daily budget gets the attempt back. With
   * `mailsCode`, the code the sign-in is about to mail counts against the
   * account's hourly cap (429 `mfa_mail` when it is spent).
   */
  passed(db: Database, meta: RequestMeta, defer: Defer, subject: TripSubject, options: { mailsCode: boolean }): Promise<void>
}

/**
 * The throttle in front of a password sign-in (tenant or operator), before
 * any D1 read or password verify. It counts the attempt as a failure up
 * front, so racing attempts can never get more verifies than the limits:
 * first against the client network's daily budget (one RPC; a list attack
 * from one address ends here), then against the account from that network
 * (`pair`) and from anywhere (`account`) in the account's object (a second
 * RPC, which also tells whether the account's second step is locked). A
 * refusal is a 429 that depends only on the key, never on whether the
 * account exists; an attempt the account side refuses is given back to the
 * network's budget.
 */
export async function openSignInGate(env: Env, key: AccountKey, ip: string | null): Promise<SignInGate> {
  const [object, net] = await Promise.all([accountObject(env, key), networkKeys(env, ip)])
  const onNetwork = await apply(env, net.object, [attempt('ip')])
  if (onNetwork.refused) throw tooManyRequests(onNetwork.refused)
  const onAccount = await apply(env, object, [attempt('pair', net.pairKey), attempt('account'), peek('mfa')])
  if (onAccount.refused) {
    await apply(env, net.object, [refund('ip')])
    throw tooManyRequests(onAccount.refused)
  }
  const [ipState] = onNetwork.counted as [CounterState]
  const [pairState, accountState] = onAccount.counted as [CounterState, CounterState]
  const withNetwork = (subject: TripSubject): TripSubject => ({ ...subject, identity: { ...subject.identity, network: net.network } })
  return {
    mfaLocked: onAccount.peeked[0]!.locked,
    async failed(db, meta, defer, subject) {
      await announceTrip(env, db, meta, defer, pairState, withNetwork(subject))
      await announceTrip(env, db, meta, defer, accountState, subject)
      await announceTrip(env, db, meta, defer, ipState, { tenantId: null, account: null, identity: { network: net.network } })
    },
    async passed(db, meta, defer, subject, { mailsCode }) {
      const [account] = await Promise.all([
        apply(env, object, [reset('pair', net.pairKey), reset('account'), ...(mailsCode ? [attempt('mfa_mail')] : [])]),
        apply(env, net.object, [refund('ip')]),
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
