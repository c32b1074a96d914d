import { database } from '../db/client'
import { runNoticeJobs } from '../services/operations/notices'
import { advanceWindows, armWindows, queueWindowReminders } from '../services/operations/window-clock'
import { followGlobalWindow } from '../services/operations/window-flags'
import { globalWindowToFollow } from '../services/operations/windows'

/**
 * Five-minute job: records maintenance windows starting and ending (their
 * tenants' maintenance flags with them, and the global flag follows the
 * platform-wide window in force: one call, so a lost write heals here), arms
 * the flags of windows starting before its next run (they name the start, so
 * maintenance begins on the minute), queues
 * their 7-day and 1-day reminders, and fans out pending notices by a bounded
 * number of tenants. It runs before mail delivery, so what it queues leaves
 * in the same run. The slot's scheduled time is its clock, so a slot run
 * twice does nothing twice.
 */
export async function operations(env: Env, scheduledTime: number) {
  const db = database(env)
  const meta = { requestId: `cron:${scheduledTime}`, ip: null, userAgent: null }
  const windows = await advanceWindows(env, db, scheduledTime, meta)
  const { armed } = await armWindows(env, db, scheduledTime, meta)
  const global = await followGlobalWindow(env, await globalWindowToFollow(db, scheduledTime))
  const reminders = await queueWindowReminders(env, db, scheduledTime, meta)
  const { mailIds: _ids, ...notices } = await runNoticeJobs(env, db, meta)
  const flag = { armed, global_flag_changed: global.changed }
  console.log(JSON.stringify({ level: 'info', msg: 'operations job', ...windows, ...flag, ...reminders, ...notices }))
  return { ...windows, ...flag, ...reminders, ...notices }
}
