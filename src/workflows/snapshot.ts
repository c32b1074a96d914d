import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep, type WorkflowStepConfig } from 'cloudflare:workers'
import type { RequestMeta } from '../lib/request-meta'
import { verifyBackup } from '../services/backup/catalogue'
import { reportSnapshotFailure, type SnapshotParams } from '../services/backup/fan-out'
import { applyRetention } from '../services/backup/retention'
import { takeSnapshot } from '../services/backup/snapshot'

/** Each step retried with backoff; a snapshot of a large tenant gets time (docs/backups.md). */
const RETRIED: WorkflowStepConfig = { retries: { limit: 4, delay: '30 seconds', backoff: 'exponential' }, timeout: '15 minutes' }

/**
 * One tenant's nightly generation (instance `snapshot-<tenant>-<JST date>`):
 * snapshot, verify, retention, each a durable, retried step that calls a
 * service and returns small plain data. A snapshot or verification that
 * still fails after its retries is reported (the generation marked failed,
 * an incident and an operator alert) and the instance ends as errored; other
 * tenants' instances never notice.
 */
export class SnapshotWorkflow extends WorkflowEntrypoint<Env, SnapshotParams> {
  override async run(event: Readonly<WorkflowEvent<SnapshotParams>>, step: WorkflowStep) {
    const params = event.payload
    const meta: RequestMeta = { requestId: `workflow:${event.instanceId}`, ip: null, userAgent: null }
    let backupId: string
    try {
      const taken = await step.do('snapshot', RETRIED, () => takeSnapshot(this.env, { ...params, kind: 'daily' }, meta))
      backupId = taken.backupId
      // The day's generation exists already (the engine forgot an earlier instance): nothing new is written.
      if (taken.skipped) return { backup_id: backupId, skipped: true }
      const verified = await step.do('verify', RETRIED, async () => {
        const result = await verifyBackup(this.env, taken.backupId, { type: 'system', id: 'backups' }, meta)
        return { ok: result.ok, result: result.verify_result }
      })
      if (!verified.ok) throw new Error(`verification failed: ${verified.result}`)
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error)
      await step.do('report failure', RETRIED, () => reportSnapshotFailure(this.env, params, reason, meta))
      throw error
    }
    const retention = await step.do('retention', RETRIED, () => applyRetention(this.env, params.tenantId, meta))
    return { backup_id: backupId, ...retention }
  }
}
