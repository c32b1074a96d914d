import { alertDelivery } from './alert-delivery'
import { nightlyBackups } from './backups'
import { challengeSweep } from './challenge-sweep'
import { mailAndReminders } from './mail-and-reminders'
import { operations } from './operations'
import { selfCheck } from './self-check'
import { tenantErasures } from './tenant-erasures'

type Job = (env: Env, scheduledTime: number) => Promise<unknown>

/** Jobs by cron expression (wrangler.toml [triggers]). `0 19 * * *` is 04:00 JST. */
export const JOBS: Record<string, Job[]> = {
  '0 19 * * *': [nightlyBackups],
  '*/5 * * * *': [selfCheck, operations, mailAndReminders, challengeSweep, alertDelivery, tenantErasures],
}

export async function scheduled(controller: ScheduledController, env: Env, _ctx: ExecutionContext) {
  const jobs = JOBS[controller.cron]
  if (!jobs) {
    console.warn(JSON.stringify({ level: 'warn', msg: 'no job for cron', cron: controller.cron }))
    return
  }
  for (const job of jobs) await job(env, controller.scheduledTime)
}
