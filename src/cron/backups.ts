import { startAllSnapshots } from '../services/backup/fan-out'
import { jstDate } from '../lib/time'

/**
 * 04:00 JST: one snapshot Workflow instance per active tenant for the day
 * (services/backup/fan-out.ts). Only instances are created here; the slot's
 * scheduled time names the day, so a slot run twice starts nothing twice.
 */
export async function nightlyBackups(env: Env, scheduledTime: number) {
  const result = await startAllSnapshots(env, jstDate(scheduledTime))
  const { instance_ids: _ids, ...summary } = result
  console.log(JSON.stringify({ level: 'info', msg: 'nightly backups started', ...summary }))
  return summary
}
