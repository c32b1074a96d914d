import { and, asc, eq, gt } from 'drizzle-orm'
import { database } from '../../db/client'
import { backups, tenants } from '../../db/schema'
import { Problem } from '../../lib/problem'
import type { RequestMeta } from '../../lib/request-meta'
import { isoNow } from '../../lib/time'
import { audit, type AuditActor } from '../audit/audit'
import { openIncident } from '../operations/incidents'

/**
 * Starting snapshots: one Workflow instance per tenant and JST date
 * (src/workflows/snapshot.ts). The caller (the nightly cron, an operator)
 * only creates instances, 100 per call (the engine's batch limit) while
 * paging the active tenants; the work, its retries and one tenant's failure
 * stay inside that tenant's instance. The instance ID is the job's identity,
 * so the engine refuses a second instance for the same tenant and date; the
 * `backups` row (one daily generation per tenant and date) is the second
 * line for when the engine has forgotten the instance.
 */

export const TENANT_PAGE = 100

export type SnapshotParams = { tenantId: string; jstDate: string }

/** `snapshot-<tenant id>-<YYYY-MM-DD>`: the shape the engine accepts (letters, digits, `-`, `_`). */
export function snapshotInstanceId(tenantId: string, date: string) {
  return `snapshot-${tenantId}-${date}`
}

export type StartResult = { jst_date: string; tenants: number; started: number; already_started: number; instance_ids: string[] }

async function createInstances(env: Env, tenantIds: string[], date: string) {
  if (!tenantIds.length) return { started: 0, already: 0, ids: [] as string[] }
  const instances = tenantIds.map((tenantId) => ({ id: snapshotInstanceId(tenantId, date), params: { tenantId, jstDate: date } satisfies SnapshotParams }))
  const result = await env.SNAPSHOTS.createBatch({ instances })
  // An ID the engine already holds is the same job: counted, not retried.
  const unexpected = result.errors.filter((e) => !/exist/i.test(e.message))
  if (unexpected.length) throw new Error(`could not start ${unexpected.length} snapshot instance(s): ${unexpected[0]!.message}`)
  return { started: result.created.length, already: result.errors.length, ids: instances.map((i) => i.id) }
}

/** Starts one instance per active tenant, a page of tenants at a time. */
export async function startAllSnapshots(env: Env, date: string): Promise<StartResult> {
  const db = database(env)
  let after: string | null = null
  const total = { jst_date: date, tenants: 0, started: 0, already_started: 0, instance_ids: [] as string[] }
  for (;;) {
    const page: { id: string }[] = await db
      .select({ id: tenants.id })
      .from(tenants)
      .where(and(eq(tenants.status, 'active'), after ? gt(tenants.id, after) : undefined))
      .orderBy(asc(tenants.id))
      .limit(TENANT_PAGE)
    const made = await createInstances(
      env,
      page.map((t) => t.id),
      date,
    )
    total.tenants += page.length
    total.started += made.started
    total.already_started += made.already
    if (page.length < TENANT_PAGE) break
    after = page.at(-1)!.id
  }
  return total
}

/** Starts the instance of one tenant (an operator's `POST /ops/v1/backups {tenant_id}`). */
export async function startTenantSnapshot(env: Env, tenantId: string, date: string): Promise<StartResult> {
  const row = await database(env).select({ id: tenants.id, status: tenants.status }).from(tenants).where(eq(tenants.id, tenantId)).get()
  if (!row) throw Problem.notFound('tenant', tenantId)
  const made = await createInstances(env, [tenantId], date)
  return { jst_date: date, tenants: 1, started: made.started, already_started: made.already, instance_ids: made.ids }
}

/** An operator asked for snapshots: recorded on the platform chain (each tenant's chain records its generation). */
export async function recordRequested(env: Env, meta: RequestMeta, actor: AuditActor, result: StartResult, tenantId: string | null) {
  await audit(env, meta, {
    tenantId,
    actor,
    action: 'backup.requested',
    target: { type: 'tenant', id: tenantId },
    outcome: 'success',
    details: { jst_date: result.jst_date, tenants: result.tenants, started: result.started, already_started: result.already_started },
  })
}

/**
 * A tenant whose snapshot failed after every retry: the generation is marked
 * failed (older good ones stay: retention never counts it), the tenant's
 * trail records it, and an incident opens for the tenant, which alerts the
 * operators (operations/incidents → operator-alerts). The reason stays in the
 * catalogue for operators; the incident text names no internals.
 */
export async function reportSnapshotFailure(env: Env, params: SnapshotParams, reason: string, meta: RequestMeta) {
  const db = database(env)
  const row = await db
    .select({ id: backups.id })
    .from(backups)
    .where(and(eq(backups.tenantId, params.tenantId), eq(backups.jstDate, params.jstDate), eq(backups.kind, 'daily')))
    .get()
  const actor: AuditActor = { type: 'system', id: 'backups' }
  await audit(
    env,
    meta,
    {
      tenantId: params.tenantId,
      actor,
      action: 'backup.failed',
      target: { type: 'backup', id: row?.id ?? null },
      outcome: 'failure',
      details: { jst_date: params.jstDate, reason: reason.slice(0, 300) },
    },
    row ? [{ sql: "UPDATE backups SET status = 'failed', error = ?, completed_at = ? WHERE id = ? AND status != 'complete'", params: [reason.slice(0, 500), isoNow(), row.id] }] : [],
  )
  const incident = await openIncident(
    env,
    db,
    {
      title: `Nightly backup failed (${params.jstDate})`,
      description: `The encrypted backup of ${params.jstDate} could not be completed after retries. Earlier backups are unaffected and stay available; operators are investigating.`,
      severity: 'major',
      tenant_ids: [params.tenantId],
    },
    actor,
    meta,
  )
  return { backup_id: row?.id ?? null, incident_id: incident.id }
}
