import { database } from '../db/client'
import { isoNow } from '../lib/time'
import { sweepExpiredChallenges } from '../services/identity/mfa'

/**
 * At most this many expired challenges go per run: one bounded statement, so
 * a backlog (after an outage, or a flood of sign-ins) drains over a few runs
 * instead of one run outgrowing its invocation.
 */
export const CHALLENGE_SWEEP_LIMIT = 500

/**
 * Five-minute job: deletes expired second-factor challenges (dead rows
 * holding code MACs). Expiry is judged by the clock that answers challenges,
 * not by the trigger's scheduled time.
 */
export async function challengeSweep(env: Env, _scheduledTime: number) {
  const deleted = await sweepExpiredChallenges(database(env), isoNow(), CHALLENGE_SWEEP_LIMIT)
  console.log(JSON.stringify({ level: 'info', msg: 'challenge sweep', deleted }))
  return { deleted }
}
