import { and, asc, eq, gt, isNull, or } from 'drizzle-orm'
import type { Database } from '../../db/client'
import { tenantMaintenance, tenants } from '../../db/schema'
import { maintenanceFlagFor, type GlobalFlagState } from '../../durable/maintenance-flag'
import { ID_PATTERN } from '../../lib/ids'
import { flagInForce, type MaintenanceFlag } from '../../lib/maintenance'
import { Problem } from '../../lib/problem'
import type { RequestMeta } from '../../lib/request-meta'
import type { MaintenanceFlagView, MaintenanceOverview, MaintenancePut } from '../../schemas/maintenance'
import { audit, type AuditActor } from '../audit/audit'
import { pushTenantMaintenance } from '../identity/sessions'
import { rememberGlobalFlag } from './global-flag'
import { flagOfRow, type TenantFlagRow } from './tenant-flag-row'
import { windowsInForce } from './windows'

/**
 * The operators' maintenance switch (`GET|PUT /ops/v1/maintenance`): the
 * global flag in its Durable Object, a tenant's in D1 and its session
 * store. Every change is audited (`maintenance.flag_changed`): the global
 * one on the platform chain, a tenant's on the tenant's own chain, where
 * its admins can see why their API answered 503.
 */

/** Tenant flags one overview lists. */
const OVERVIEW_TENANTS = 1000

function view(scope: 'global' | 'tenant', tenantId: string | null, flag: MaintenanceFlag, updated: { at: string | null; by: string | null }, now: number): MaintenanceFlagView {
  return {
    scope,
    tenant_id: tenantId,
    enabled: flag.enabled,
    in_force: flagInForce(flag, now),
    message: flag.message,
    starts_at: flag.from,
    until: flag.until,
    window_id: flag.windowId,
    version: flag.version,
    updated_at: updated.at,
    updated_by: updated.by,
  }
}

const globalView = (flag: GlobalFlagState, now: number) => view('global', null, flag, { at: flag.updatedAt, by: flag.updatedBy }, now)

const tenantView = (tenantId: string, row: TenantFlagRow | undefined, now: number) =>
  view('tenant', tenantId, flagOfRow(row), { at: row?.updatedAt ?? null, by: row?.updatedBy ?? null }, now)

/** The global flag (from its object, not the isolate's copy), every tenant flag in force, and the windows in force. */
export async function maintenanceOverview(env: Env, db: Database, now = Date.now()): Promise<MaintenanceOverview> {
  const at = new Date(now).toISOString()
  const [global, rows, windows] = await Promise.all([
    maintenanceFlagFor(env).read(),
    db
      .select()
      .from(tenantMaintenance)
      .where(and(eq(tenantMaintenance.enabled, true), or(isNull(tenantMaintenance.until), gt(tenantMaintenance.until, at))))
      .orderBy(asc(tenantMaintenance.tenantId))
      .limit(OVERVIEW_TENANTS),
    windowsInForce(db, now),
  ])
  return {
    global: globalView(global, now),
    tenants: rows.map((r) => tenantView(r.tenantId, r, now)),
    windows,
  }
}

function requireFuture(until: string | undefined, now: number) {
  if (until !== undefined && Date.parse(until) <= now) {
    throw Problem.validation([{ path: 'body.until', message: 'Must be in the future.' }], 'Maintenance cannot end in the past.')
  }
}

/**
 * Turns the global or a tenant's flag on or off. Effective on the next
 * request of this isolate (its copy is updated here) and within about two
 * seconds everywhere (global: every isolate's copy is at most a second old;
 * tenant: pushed to the tenant's session store, and pulled by every session
 * within a minute should that push fail). An unknown tenant answers 404.
 */
export async function setMaintenanceFlag(env: Env, db: Database, input: MaintenancePut, actor: AuditActor, meta: RequestMeta): Promise<MaintenanceFlagView> {
  const now = Date.now()
  requireFuture(input.until, now)
  // An end only means something for maintenance that is on.
  const wanted = { enabled: input.enabled, message: input.message ?? null, from: null, until: input.enabled ? (input.until ?? null) : null, windowId: null }
  const by = `${actor.type}:${actor.id}`
  return input.scope === 'global' ? setGlobal(env, wanted, by, actor, meta, now) : setTenant(env, db, input.tenant_id, wanted, by, actor, meta, now)
}

type Wanted = Pick<MaintenanceFlag, 'enabled' | 'message' | 'from' | 'until' | 'windowId'>

function auditDetails(scope: 'global' | 'tenant', wanted: Wanted, previous: MaintenanceFlag, version: number | null) {
  return {
    scope,
    enabled: wanted.enabled,
    message: wanted.message,
    until: wanted.until,
    ...(version === null ? {} : { version }),
    previous: { enabled: previous.enabled, message: previous.message, until: previous.until, window_id: previous.windowId },
  }
}

/**
 * The object is written first, then the change is audited; a change that
 * cannot be audited is put back (unless a later write came in between), so
 * no flip stands without its event.
 */
async function setGlobal(env: Env, wanted: Wanted, by: string, actor: AuditActor, meta: RequestMeta, now: number) {
  const store = maintenanceFlagFor(env)
  const previous = await store.read()
  const written = await store.write({ ...wanted, updatedBy: by })
  rememberGlobalFlag(written)
  try {
    await audit(env, meta, {
      tenantId: null,
      actor,
      action: 'maintenance.flag_changed',
      target: { type: 'maintenance_flag', id: 'global' },
      outcome: 'success',
      details: auditDetails('global', wanted, previous, written.version),
    })
  } catch (error) {
    if (await store.restore(previous, written.version)) rememberGlobalFlag(await store.read())
    throw error
  }
  return globalView(written, now)
}

async function setTenant(env: Env, db: Database, tenantId: string, wanted: Wanted, by: string, actor: AuditActor, meta: RequestMeta, now: number) {
  const found =
    ID_PATTERN.test(tenantId) && tenantId.startsWith('tn_')
      ? await db.select({ id: tenants.id, flag: tenantMaintenance }).from(tenants).leftJoin(tenantMaintenance, eq(tenantMaintenance.tenantId, tenants.id)).where(eq(tenants.id, tenantId)).get()
      : undefined
  if (!found) throw Problem.notFound('tenant', tenantId)
  const previous = flagOfRow(found.flag)
  const at = new Date(now).toISOString()
  await audit(
    env,
    meta,
    {
      tenantId,
      actor,
      action: 'maintenance.flag_changed',
      target: { type: 'maintenance_flag', id: tenantId },
      outcome: 'success',
      details: auditDetails('tenant', wanted, previous, null),
    },
    [
      {
        // An operator's write takes the flag over from any window (window_id null): the window's end leaves it alone.
        sql: `INSERT INTO tenant_maintenance (tenant_id, enabled, message, starts_at, until, window_id, version, updated_at, updated_by)
              VALUES (?, ?, ?, NULL, ?, NULL, 1, ?, ?)
              ON CONFLICT (tenant_id) DO UPDATE SET enabled = excluded.enabled, message = excluded.message, starts_at = NULL, until = excluded.until,
                window_id = NULL, version = tenant_maintenance.version + 1, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
        params: [tenantId, wanted.enabled ? 1 : 0, wanted.message, wanted.until, at, by],
      },
    ],
  )
  // The row as committed (a concurrent write may already be newer: then that one is pushed, which is right too).
  const row = await db.select().from(tenantMaintenance).where(eq(tenantMaintenance.tenantId, tenantId)).get()
  try {
    await pushTenantMaintenance(env, tenantId, flagOfRow(row))
  } catch (error) {
    // Committed: each session's minute pull brings it; repeating the PUT pushes again.
    console.error(JSON.stringify({ level: 'error', msg: 'maintenance flag push failed', tenant_id: tenantId, error: error instanceof Error ? error.name : 'unknown' }))
  }
  return tenantView(tenantId, row, now)
}
