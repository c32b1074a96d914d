import type { Database } from '../../db/client'
import type { CounterState } from '../../durable/throttle'
import type { Defer } from '../../lib/defer'
import type { RequestMeta } from '../../lib/request-meta'
import { announceTrip, type TripSubject } from './announce'
import { apply, applyWhenFree, attemptId, fail, pass, reserve } from './counters'
import { accountObject, type AccountKey } from './keys'
import { assertNotRefused } from './refusal'

/**
 * Re-authentication of a signed-in account (its current password for a
 * password change or a factor change) behind the account's `reauth`
 * throttle: a stolen session gets 10 guesses in a row, then a growing wait,
 * before the password is even verified. `verify` throws when the password
 * is wrong (that try stays counted); a right one ends the run. Its own
 * scope, so a signed-in owner can still change a password that someone
 * else's sign-in failures have locked.
 */
export async function guardCurrentPassword(
  env: Env,
  db: Database,
  meta: RequestMeta,
  defer: Defer,
  key: AccountKey,
  subject: TripSubject,
  verify: () => Promise<void>,
): Promise<void> {
  const id = attemptId()
  const object = await accountObject(env, key)
  assertNotRefused((await applyWhenFree(env, object, [reserve(id, 'reauth')])).refused)
  try {
    await verify()
  } catch (error) {
    const [state] = (await apply(env, object, [fail(id, 'reauth')])).counted as [CounterState]
    await announceTrip(env, db, meta, defer, state, subject)
    throw error
  }
  await apply(env, object, [pass(id, 'reauth')])
}
