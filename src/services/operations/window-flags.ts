import { eq } from 'drizzle-orm'
import type { Database } from '../../db/client'
import { tenantMaintenance } from '../../db/schema'
import type { SqlWrite } from '../../durable/audit-chain'
import { maintenanceFlagFor, type GlobalFlagState } from '../../durable/maintenance-flag'
import { Semaphore } from '../../lib/semaphore'
import { pushTenantMaintenance } from '../identity/sessions'
import { rememberGlobalFlag } from './global-flag'
import { flagOfRow } from './tenant-flag-row'

/**
 * A maintenance window in force puts its tenants (or everyone) into
 * maintenance through the same flags an operator sets, so a request asks
 * one question, never the calendar. A tenant window writes its tenants'
 * flags in the same D1 transaction as its start or end (and the audit event
 * that records it), then pushes them to their session stores; a window over
 * every tenant sets the global flag. The flags name the window's start and
 * end, so maintenance ends on the minute even if the job is late.
 */

const BY = 'system:maintenance-calendar'

/**
 * How far ahead of a window's start its flags are written: one run of the
 * five-minute job. The flags carry the start, so they refuse nothing before
 * it, and maintenance begins on the minute instead of at the first run after.
 */
export const ARM_AHEAD_MS = 5 * 60_000

/** Pushes to session stores in flight at once from one job. */
const PUSHES_AT_ONCE = 8

/**
 * Pushes one run makes for one window, well inside the 1,000 subrequests of
 * an invocation however many tenants the window covers. The rest need none:
 * the flags are written a run ahead of the start (ARM_AHEAD_MS) and every
 * session's once-a-minute pull brings them, as it does for a lost push.
 */
export const PUSHES_PER_RUN = 200

type WindowFacts = { id: string; startsAt: string; endsAt: string; allTenants: boolean }

/**
 * The write that turns a tenant window's flags on: one row per tenant of the
 * window. An operator's flag in force that lasts at least as long is left
 * as it is. Null for a window over every tenant (the global flag's job).
 */
export function windowFlagsOn(w: WindowFacts, message: string, at: string): SqlWrite | null {
  if (w.allTenants) return null
  return flagsOn(w, message, at, '', [])
}

/**
 * The write that arms a tenant window's flags ahead of its start
 * (ARM_AHEAD_MS): the same rows, written only while the window is still
 * scheduled at the revision read, and only for tenants whose flag this
 * window has not already written as it stands, so a second run of the same
 * slot changes nothing. Null for a window over every tenant.
 */
export function windowFlagsArmed(w: WindowFacts & { revision: number }, message: string, at: string): SqlWrite | null {
  if (w.allTenants) return null
  return flagsOn(
    w,
    message,
    at,
    `AND EXISTS (SELECT 1 FROM maintenance_windows mw WHERE mw.id = t.window_id AND mw.state = 'scheduled' AND mw.revision = ?)
     AND NOT EXISTS (SELECT 1 FROM tenant_maintenance m WHERE m.tenant_id = t.tenant_id AND m.window_id = t.window_id AND m.enabled = 1
                     AND m.starts_at IS ? AND m.until IS ? AND m.message IS ?)`,
    [w.revision, w.startsAt, w.endsAt, message],
  )
}

function flagsOn(w: WindowFacts, message: string, at: string, also: string, alsoParams: SqlWrite['params']): SqlWrite {
  return {
    sql: `INSERT INTO tenant_maintenance (tenant_id, enabled, message, starts_at, until, window_id, version, updated_at, updated_by)
          SELECT t.tenant_id, 1, ?, ?, ?, ?, 1, ?, ? FROM maintenance_window_tenants t WHERE t.window_id = ? ${also}
          ON CONFLICT (tenant_id) DO UPDATE SET enabled = 1, message = excluded.message, starts_at = excluded.starts_at, until = excluded.until,
            window_id = excluded.window_id, version = tenant_maintenance.version + 1, updated_at = excluded.updated_at, updated_by = excluded.updated_by
          WHERE NOT (tenant_maintenance.enabled = 1 AND tenant_maintenance.window_id IS NULL
                     AND (tenant_maintenance.until IS NULL OR tenant_maintenance.until >= excluded.until))`,
    params: [message, w.startsAt, w.endsAt, w.id, at, BY, w.id, ...alsoParams],
  }
}

/** The write that turns off the flags this window set (never an operator's, nor another window's). */
export function windowFlagsOff(w: Pick<WindowFacts, 'id' | 'allTenants'>, at: string): SqlWrite | null {
  if (w.allTenants) return null
  return {
    sql: 'UPDATE tenant_maintenance SET enabled = 0, version = version + 1, updated_at = ?, updated_by = ? WHERE window_id = ? AND enabled = 1',
    params: [at, BY, w.id],
  }
}

/**
 * Pushes the flags a window wrote to its tenants' session stores, a few at
 * a time, at most PUSHES_PER_RUN. A failed or skipped push heals within a
 * minute (every session's periodic pull brings the flag). Returns how many
 * were pushed.
 */
export async function pushWindowFlags(env: Env, db: Database, windowId: string): Promise<number> {
  const rows = await db.select().from(tenantMaintenance).where(eq(tenantMaintenance.windowId, windowId)).limit(PUSHES_PER_RUN)
  const gate = new Semaphore(PUSHES_AT_ONCE)
  const pushed = await Promise.all(
    rows.map((row) =>
      gate.run(() =>
        pushTenantMaintenance(env, row.tenantId, flagOfRow(row)).then(
          () => 1,
          (error) => {
            console.error(JSON.stringify({ level: 'error', msg: 'maintenance flag push failed', tenant_id: row.tenantId, error: error instanceof Error ? error.name : 'unknown' }))
            return 0
          },
        ),
      ),
    ),
  )
  return pushed.reduce<number>((a, b) => a + b, 0)
}

/** A platform-wide window in force, as activeMaintenance answers it. */
export type GlobalWindow = { window_id: string; starts_at: string; ends_at: string; message: string }

/**
 * Makes the global flag follow the platform-wide window in force (null:
 * none). Called by every five-minute run, so a lost write heals at the next
 * run, and at once when a window is ended early.
 */
export async function followGlobalWindow(env: Env, window: GlobalWindow | null): Promise<{ flag: GlobalFlagState; changed: boolean }> {
  const result = await maintenanceFlagFor(env).followWindow(
    window ? { windowId: window.window_id, message: window.message, from: window.starts_at, until: window.ends_at } : null,
    BY,
  )
  if (result.changed) rememberGlobalFlag(result.flag)
  return result
}
