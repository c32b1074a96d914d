import { database } from '../db/client'
import { ERASURE_BUDGET, runErasure, unfinishedErasures } from '../services/tenancy/erasure'

/** Terminations one run goes on with: the run's budget is shared among them, so one large tenant cannot starve the others' turn. */
export const ERASURES_PER_RUN = 2

/**
 * Five-minute job: goes on with terminations one call could not finish
 * (a large tenant), within a share of the invocation's budget each. A
 * failing one is logged and left for the next run; it does not stop the other.
 */
export async function tenantErasures(env: Env, scheduledTime: number) {
  const meta = { requestId: `cron:${scheduledTime}`, ip: null, userAgent: null }
  const pending = await unfinishedErasures(database(env), ERASURES_PER_RUN)
  const share = Math.floor(ERASURE_BUDGET.cron / Math.max(1, pending.length))
  const results: { tenant_id: string; status: string }[] = []
  for (const tenantId of pending) {
    try {
      const progress = await runErasure(env, tenantId, { left: share }, meta)
      results.push({ tenant_id: tenantId, status: progress.status })
    } catch (error) {
      console.error(JSON.stringify({ level: 'error', msg: 'tenant erasure failed', tenant_id: tenantId, error: error instanceof Error ? error.name : 'unknown' }))
      results.push({ tenant_id: tenantId, status: 'failed' })
    }
  }
  if (results.length) console.log(JSON.stringify({ level: 'info', msg: 'tenant erasures', results }))
  return results
}
