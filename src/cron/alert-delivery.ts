import { database } from '../db/client'
import { sweepCounters } from '../services/alerts/counters'
import { deliverAlertWebhooks } from '../services/alerts/webhook'

/** Ended detector windows removed per run: one bounded statement, so a backlog drains over a few runs. */
export const COUNTER_SWEEP_LIMIT = 500

/**
 * Five-minute job: delivers the alert webhooks that are due (new ones a
 * request's prompt delivery missed, and retries whose backoff has passed),
 * then drops detector counters of windows that ended a day ago. Due-ness is
 * judged at the later of the trigger's time and the clock: the same thing in
 * production, and how a test stands for time passing between retries. The
 * sweep goes by the clock alone, so no counter goes before its window has
 * really ended.
 */
export async function alertDelivery(env: Env, scheduledTime: number) {
  const db = database(env)
  const webhooks = await deliverAlertWebhooks(env, db, { now: Math.max(scheduledTime, Date.now()) })
  const countersSwept = await sweepCounters(db, Date.now(), COUNTER_SWEEP_LIMIT)
  console.log(JSON.stringify({ level: 'info', msg: 'alert job', ...webhooks, counters_swept: countersSwept }))
  return { ...webhooks, countersSwept }
}
