import { database } from '../db/client'
import { runNoticeJobs } from '../services/operations/notices'
import { advanceWindows, queueWindowReminders } from '../services/operations/window-clock'

/**
 * Five-minute job: records maintenance windows starting and ending, queues
 * their 7-day and 1-day reminders, and fans out pending notices by a bounded
 * number of tenants. It runs before mail delivery, so what it queues leaves
 * in the same run. The slot's scheduled time is its clock, so a slot run
 * twice does nothing twice.
 */
export async function operations(env: Env, scheduledTime: number) {
  const db = database(env)
  const meta = { requestId: `cron:${scheduledTime}`, ip: null, userAgent: null }
  const windows = await advanceWindows(env, db, scheduledTime, meta)
  const reminders = await queueWindowReminders(env, db, scheduledTime, meta)
  const { mailIds: _ids, ...notices } = await runNoticeJobs(env, db, meta)
  console.log(JSON.stringify({ level: 'info', msg: 'operations job', ...windows, ...reminders, ...notices }))
  return { ...windows, ...reminders, ...notices }
}
