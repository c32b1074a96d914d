import { and, asc, desc, eq, gt, inArray, lt, lte, sql } from 'drizzle-orm'
import type { Database } from '../../db/client'
import { jsonList } from '../../db/json-list'
import { maintenanceWindows, tenants } from '../../db/schema'
import type { SqlWrite } from '../../durable/audit-chain'
import { decodeCursor, page } from '../../lib/cursor'
import type { Defer } from '../../lib/defer'
import { ID_PATTERN, newId } from '../../lib/ids'
import { Problem } from '../../lib/problem'
import type { RequestMeta } from '../../lib/request-meta'
import type { MaintenanceWindow, WindowCreate, WindowPatch } from '../../schemas/operations'
import { audit, type AuditActor } from '../audit/audit'
import { LEAD_TIME_MS, formatJst, leadTimeMet, upcomingStandingWindows, withinStandingWindow, type StandingRule, type WindowKind } from './calendar'
import type { WindowEvent } from '../../i18n'
import { noticeJobWrite, sendNoticesSoon, type NoticePurpose } from './notices'
import { standingRule } from './standing-rule'
import { ARM_AHEAD_MS, followGlobalWindow, pushWindowFlags, windowFlagsOff, windowFlagsOn, type GlobalWindow } from './window-flags'

/**
 * Scheduled maintenance windows and planned outages (AV-1, AV-2, AV-10):
 * scheduling with its lead-time rule, changing, cancelling, and the one
 * question the maintenance check asks (`activeMaintenance`). Every change is
 * audited on the platform chain together with the notice it sends.
 *
 * Overlaps: a window that overlaps, or directly continues, an open
 * (scheduled or active) window sharing a tenant is refused with 409
 * `window-overlap`, so no tenant is ever in maintenance for more than five
 * hours at a stretch. Windows for disjoint sets of tenants may run at once.
 */

export type WindowRow = typeof maintenanceWindows.$inferSelect

/** A start this far in the past is still "now" (the caller's clock and ours differ a little). */
const CLOCK_SKEW_MS = 5 * 60_000

export function toWindow(row: WindowRow, rule: StandingRule): MaintenanceWindow {
  return {
    id: row.id,
    kind: row.kind,
    state: row.state,
    starts_at: row.startsAt,
    ends_at: row.endsAt,
    duration_minutes: row.durationMinutes,
    emergency: row.emergency,
    reason: row.reason,
    message: row.message,
    tenant_ids: row.allTenants ? null : (row.tenantIds ?? []),
    within_standing_window: withinStandingWindow(rule, Date.parse(row.startsAt), Date.parse(row.endsAt)),
    revision: row.revision,
    created_by: row.createdBy,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
    started_at: row.startedAt,
    ended_at: row.endedAt,
    cancelled_at: row.cancelledAt,
  }
}

/** Scheduled windows, newest first, next to the standing windows of the next three months. */
export async function listWindows(
  db: Database,
  query: { limit: number; cursor?: string | undefined; state?: WindowRow['state'] | undefined },
  now = Date.now(),
) {
  const before = decodeCursor(query.cursor, ID_PATTERN)
  const [{ rule }, rows] = await Promise.all([
    standingRule(db),
    db
      .select()
      .from(maintenanceWindows)
      .where(and(before ? lt(maintenanceWindows.id, before) : undefined, query.state ? eq(maintenanceWindows.state, query.state) : undefined))
      .orderBy(desc(maintenanceWindows.id))
      .limit(query.limit + 1),
  ])
  return {
    ...page(
      rows.map((r) => toWindow(r, rule)),
      query.limit,
      (w) => w.id,
    ),
    standing_rule: rule,
    standing_windows: upcomingStandingWindows(rule, now),
  }
}

async function findWindow(db: Database, id: string) {
  const row = ID_PATTERN.test(id) && id.startsWith('mw_') ? await db.select().from(maintenanceWindows).where(eq(maintenanceWindows.id, id)).get() : undefined
  if (!row) throw Problem.notFound('maintenance window', id)
  return row
}

/** Refuses unknown tenant ids (422 naming them): a notice to nobody is a notice nobody got. */
export async function requireTenants(db: Database, ids: string[] | undefined, field = 'body.tenant_ids') {
  if (!ids) return
  const found = await db.select({ id: tenants.id }).from(tenants).where(inArray(tenants.id, jsonList(ids)))
  const known = new Set(found.map((t) => t.id))
  const unknown = ids.filter((id) => !known.has(id))
  if (unknown.length) {
    throw Problem.validation([{ path: field, message: `No tenant with id ${unknown.slice(0, 10).join(', ')}${unknown.length > 10 ? ', …' : ''}.` }], 'Unknown tenants.')
  }
}

type Timing = { kind: WindowKind; start: number; minutes: number; emergency: boolean; reason: string | null }

/**
 * AV-10 and AV-2: maintenance needs 7 days' notice, a planned outage 30,
 * unless it is an emergency with a reason. A window that is over before it
 * starts, or starts in the past, is refused whatever it is.
 */
function checkTiming(t: Timing, now: number) {
  if (t.start < now - CLOCK_SKEW_MS) {
    throw Problem.validation([{ path: 'body.starts_at', message: 'The window starts in the past.' }], 'A window cannot start in the past.')
  }
  if (t.emergency && !t.reason) {
    throw Problem.validation([{ path: 'body.reason', message: 'An emergency window needs a reason.' }], 'An emergency window needs a reason.')
  }
  if (!t.emergency && !leadTimeMet(t.kind, t.start, now)) {
    const days = LEAD_TIME_MS[t.kind] / 86_400_000
    const earliest = new Date(now + LEAD_TIME_MS[t.kind]).toISOString()
    throw Problem.leadTimeTooShort(
      `A ${t.kind === 'outage' ? 'planned outage' : 'maintenance window'} needs ${days} days' notice: start it at ${earliest} or later, or mark it \`emergency\` with a \`reason\`.`,
      'body.starts_at',
      earliest,
    )
  }
}

/** SQL true while an open window sharing a tenant overlaps or touches [start, end]; params follow the fragment. */
function overlapping(except: string, start: string, end: string, allTenants: boolean, tenantIds: string[]): SqlWrite {
  return {
    sql: `SELECT w.id FROM maintenance_windows w
          WHERE w.state IN ('scheduled', 'active') AND w.id != ? AND w.starts_at <= ? AND w.ends_at >= ?
            AND (w.all_tenants = 1 OR ? = 1 OR EXISTS (
              SELECT 1 FROM maintenance_window_tenants t WHERE t.window_id = w.id AND t.tenant_id IN (SELECT value FROM json_each(?))))`,
    params: [except, end, start, allTenants ? 1 : 0, JSON.stringify(tenantIds)],
  }
}

async function refuseOverlap(env: Env, check: SqlWrite) {
  const clash = await env.DB.prepare(`${check.sql} LIMIT 1`).bind(...check.params).first<{ id: string }>()
  if (clash) throw overlap(clash.id)
}

function overlap(other?: string) {
  return new Problem({
    status: 409,
    type: 'window-overlap',
    title: 'Conflict',
    detail: `The window overlaps or directly continues another open window of the same tenants${other ? ` (${other})` : ''}: no tenant may be in maintenance for more than 5 hours at a stretch. Change or cancel that one first.`,
    ...(other ? { extra: { conflicting_window_id: other } } : {}),
  })
}

const PURPOSE: Record<WindowEvent, NoticePurpose> = {
  scheduled: 'window.scheduled',
  changed: 'window.changed',
  cancelled: 'window.cancelled',
  'reminder-7d': 'window.reminder',
  'reminder-1d': 'window.reminder',
  started: 'window.started',
  ended: 'window.ended',
}

/** The notice of one event of a window, to its tenants (or every tenant). */
function notice(row: Pick<WindowRow, 'id' | 'kind' | 'startsAt' | 'endsAt' | 'emergency' | 'reason' | 'message' | 'allTenants'>, event: WindowEvent, dedupeKey: string, now: string) {
  return noticeJobWrite({
    dedupeKey,
    scope: row.allTenants ? 'all' : 'window',
    scopeId: row.id,
    purpose: PURPOSE[event],
    message: {
      kind: 'window',
      event,
      window: { kind: row.kind, starts_at: row.startsAt, ends_at: row.endsAt, emergency: row.emergency, reason: row.reason, message: row.message },
    },
    now,
  })
}

export { notice as windowNoticeWrite }

/**
 * Schedules a window (AV-1, AV-2, AV-10): 7 days' notice for maintenance, 30
 * for an outage, or `emergency` with a `reason` (the audit event records
 * whether the lead time was met). Every affected tenant's contact and admins
 * are mailed, starting at once.
 */
export async function scheduleWindow(env: Env, db: Database, input: WindowCreate, actor: AuditActor, meta: RequestMeta, defer: Defer) {
  const now = Date.now()
  const start = Date.parse(input.starts_at)
  const timing: Timing = { kind: input.kind, start, minutes: input.duration_minutes, emergency: input.emergency ?? false, reason: input.reason ?? null }
  checkTiming(timing, now)
  await requireTenants(db, input.tenant_ids)
  const at = new Date(now).toISOString()
  const row: WindowRow = {
    id: newId('mw'),
    kind: input.kind,
    state: 'scheduled',
    startsAt: new Date(start).toISOString(),
    endsAt: new Date(start + input.duration_minutes * 60_000).toISOString(),
    durationMinutes: input.duration_minutes,
    emergency: timing.emergency,
    reason: timing.reason,
    message: input.message ?? null,
    allTenants: !input.tenant_ids,
    tenantIds: input.tenant_ids ?? null,
    revision: 1,
    notifiedAt: at,
    createdBy: `${actor.type}:${actor.id}`,
    createdAt: at,
    updatedAt: at,
    startedAt: null,
    endedAt: null,
    cancelledAt: null,
  }
  const clash = overlapping(row.id, row.startsAt, row.endsAt, row.allTenants, input.tenant_ids ?? [])
  await refuseOverlap(env, clash)
  const insert: SqlWrite = {
    sql: `INSERT INTO maintenance_windows (id, kind, state, starts_at, ends_at, duration_minutes, emergency, reason, message, all_tenants, tenant_ids,
            revision, notified_at, created_by, created_at, updated_at)
          SELECT ?, ?, 'scheduled', ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ? WHERE NOT EXISTS (${clash.sql})`,
    params: [
      row.id, row.kind, row.startsAt, row.endsAt, row.durationMinutes, row.emergency ? 1 : 0, row.reason, row.message, row.allTenants ? 1 : 0,
      row.tenantIds ? JSON.stringify(row.tenantIds) : null, row.notifiedAt, row.createdBy, row.createdAt, row.updatedAt, ...clash.params,
    ],
  }
  const writes: SqlWrite[] = [insert]
  if (input.tenant_ids) {
    writes.push({
      sql: 'INSERT INTO maintenance_window_tenants (window_id, tenant_id) SELECT ?, value FROM json_each(?)',
      params: [row.id, JSON.stringify(input.tenant_ids)],
    })
  }
  const job = notice(row, 'scheduled', `mw:${row.id}:scheduled`, at)
  writes.push(job.write)
  // A window that starts before the five-minute job's next run (an emergency, mostly) is armed now, in the same
  // transaction, as the job would have armed it a run ahead: maintenance begins at its start, not up to a run later.
  const armNow = start <= now + ARM_AHEAD_MS
  const flags = armNow ? windowFlagsOn(row, windowMessage(row), at) : null
  if (flags) writes.push(flags)
  const result = await audit(
    env,
    meta,
    {
      tenantId: null,
      actor,
      action: 'maintenance.window_scheduled',
      target: { type: 'maintenance_window', id: row.id },
      outcome: 'success',
      details: {
        kind: row.kind,
        starts_at: row.startsAt,
        ends_at: row.endsAt,
        duration_minutes: row.durationMinutes,
        tenant_ids: row.tenantIds,
        emergency: row.emergency,
        reason: row.reason,
        lead_time_met: leadTimeMet(row.kind, start, now),
        ...(armNow && { maintenance_flag: row.allTenants ? 'global' : 'tenants' }),
      },
    },
    writes,
    { guard: 0 },
  )
  // Lost a race with another window for the same slot between the check and the commit.
  if (!result.ok) throw overlap()
  if (flags) await pushWindowFlags(env, db, row.id)
  if (armNow && row.allTenants) await followGlobalWindow(env, await globalWindowToFollow(db, now))
  sendNoticesSoon(env, db, meta, [job.id], defer)
  return toWindow(row, (await standingRule(db)).rule)
}

/**
 * Changes a scheduled window that has not begun. Starting earlier or ending
 * later needs the lead time again (or an emergency with a reason), and so
 * does dropping the emergency mark; a change that only shrinks the window
 * does not. Tenants are mailed the new times.
 */
export async function changeWindow(env: Env, db: Database, id: string, patch: WindowPatch, actor: AuditActor, meta: RequestMeta, defer: Defer) {
  const current = await findWindow(db, id)
  const now = Date.now()
  if (current.state !== 'scheduled' || Date.parse(current.startsAt) <= now) {
    throw Problem.conflict(`Only a scheduled window that has not begun can change; this one is ${current.state === 'scheduled' ? 'in force' : current.state}.`, 'window-not-changeable')
  }
  const start = patch.starts_at ? Date.parse(patch.starts_at) : Date.parse(current.startsAt)
  const minutes = patch.duration_minutes ?? current.durationMinutes
  const next: WindowRow = {
    ...current,
    startsAt: new Date(start).toISOString(),
    endsAt: new Date(start + minutes * 60_000).toISOString(),
    durationMinutes: minutes,
    emergency: patch.emergency ?? current.emergency,
    reason: patch.reason ?? current.reason,
    message: patch.message ?? current.message,
  }
  const fields = ['startsAt', 'durationMinutes', 'emergency', 'reason', 'message'] as const
  const changes = Object.fromEntries(fields.filter((k) => next[k] !== current[k]).map((k) => [k, { from: current[k], to: next[k] }]))
  const rule = (await standingRule(db)).rule
  if (Object.keys(changes).length === 0) return toWindow(current, rule)
  const grows = next.startsAt < current.startsAt || next.endsAt > current.endsAt
  // Dropping the emergency mark makes the window planned maintenance (excluded from availability): it must have the notice for that now.
  const unflagged = current.emergency && !next.emergency
  if (grows || unflagged) checkTiming({ kind: current.kind, start, minutes, emergency: next.emergency, reason: next.reason }, now)
  const at = new Date(now).toISOString()
  next.revision = current.revision + 1
  next.notifiedAt = at
  next.updatedAt = at
  const clash = overlapping(current.id, next.startsAt, next.endsAt, current.allTenants, current.tenantIds ?? [])
  await refuseOverlap(env, clash)
  const job = notice(next, 'changed', `mw:${id}:changed:${next.revision}`, at)
  // Flags armed ahead of the old start (window-clock) follow the change: off, and on again with the new times when
  // the new start comes before the job's next run.
  const rearm = Date.parse(next.startsAt) <= now + ARM_AHEAD_MS
  const flags = [windowFlagsOff(current, at), rearm ? windowFlagsOn(next, windowMessage(next), at) : null].filter((f): f is SqlWrite => f !== null)
  const result = await audit(
    env,
    meta,
    {
      tenantId: null,
      actor,
      action: 'maintenance.window_changed',
      target: { type: 'maintenance_window', id },
      outcome: 'success',
      details: { changes, ...(grows || unflagged ? { lead_time_met: leadTimeMet(current.kind, start, now) } : {}) },
    },
    [
      {
        sql: `UPDATE maintenance_windows SET starts_at = ?, ends_at = ?, duration_minutes = ?, emergency = ?, reason = ?, message = ?,
                revision = ?, notified_at = ?, updated_at = ?
              WHERE id = ? AND state = 'scheduled' AND revision = ? AND NOT EXISTS (${clash.sql})`,
        params: [
          next.startsAt, next.endsAt, next.durationMinutes, next.emergency ? 1 : 0, next.reason, next.message, next.revision, at, at,
          id, current.revision, ...clash.params,
        ],
      },
      job.write,
      ...flags,
    ],
    { guard: 0 },
  )
  if (!result.ok) throw Problem.editConflict('The window was changed, started or overlapped by another one meanwhile. Reload it and try again.')
  if (flags.length) await pushWindowFlags(env, db, id)
  if (current.allTenants) await followGlobalWindow(env, await globalWindowToFollow(db, now))
  sendNoticesSoon(env, db, meta, [job.id], defer)
  return toWindow(next, rule)
}

/**
 * DELETE: a scheduled window is cancelled; one already in force ends now
 * (its planned end stays on record next to `ended_at`). Tenants are mailed
 * either way. A window that is over answers 409 `window-closed`.
 */
export async function cancelWindow(env: Env, db: Database, id: string, actor: AuditActor, meta: RequestMeta, defer: Defer) {
  const current = await findWindow(db, id)
  const now = Date.now()
  const at = new Date(now).toISOString()
  if (current.state === 'ended' || current.state === 'cancelled') {
    throw Problem.conflict(`The window is already ${current.state}.`, 'window-closed')
  }
  const inForce = current.state === 'active' || Date.parse(current.startsAt) <= now
  const next: WindowRow = inForce
    ? { ...current, state: 'ended', startedAt: current.startedAt ?? current.startsAt, endedAt: at, updatedAt: at }
    : { ...current, state: 'cancelled', cancelledAt: at, updatedAt: at }
  const job = inForce ? notice({ ...current, endsAt: at }, 'ended', `mw:${id}:ended`, at) : notice(current, 'cancelled', `mw:${id}:cancelled`, at)
  // Ending a window in force lifts the maintenance it put its tenants in, in the same transaction; cancelling one
  // lifts the flags armed ahead of its start.
  const flags = windowFlagsOff(current, at)
  const result = await audit(
    env,
    meta,
    {
      tenantId: null,
      actor,
      action: inForce ? 'maintenance.window_ended' : 'maintenance.window_cancelled',
      target: { type: 'maintenance_window', id },
      outcome: 'success',
      details: inForce ? { early: true, planned_end: current.endsAt, ended_at: at } : { starts_at: current.startsAt, ends_at: current.endsAt },
    },
    [
      {
        sql: `UPDATE maintenance_windows SET state = ?, started_at = ?, ended_at = ?, cancelled_at = ?, updated_at = ? WHERE id = ? AND state = ?`,
        params: [next.state, next.startedAt, next.endedAt, next.cancelledAt, at, id, current.state],
      },
      job.write,
      ...(flags ? [flags] : []),
    ],
    { guard: 0 },
  )
  if (!result.ok) throw Problem.editConflict('The window changed state meanwhile. Reload it and try again.')
  if (flags) await pushWindowFlags(env, db, id)
  if (current.allTenants) await followGlobalWindow(env, await globalWindowToFollow(db, now))
  sendNoticesSoon(env, db, meta, [job.id], defer)
  return toWindow(next, (await standingRule(db)).rule)
}

/** The window in force, as the maintenance check needs it. */
export type ActiveMaintenance = {
  window_id: string
  kind: WindowKind
  starts_at: string
  ends_at: string
  message: string
  /** Seconds until the planned end, for `Retry-After` (at least 1). */
  retry_after_seconds: number
}

/**
 * The maintenance window in force at `now` (ms) for a tenant, or for the
 * whole platform when `tenantId` is absent (then only windows over every
 * tenant count). By the clock, not by the five-minute job's marks, so
 * maintenance begins and ends on the minute; a window cancelled or ended
 * early is never in force. When several are (only possible for a tenant in
 * a platform-wide and its own window, which overlap rules prevent), the one
 * ending last wins.
 */
export async function activeMaintenance(db: Database, now: number, tenantId?: string): Promise<ActiveMaintenance | null> {
  const at = new Date(now).toISOString()
  const scope = tenantId
    ? sql`(${maintenanceWindows.allTenants} = 1 OR EXISTS (SELECT 1 FROM maintenance_window_tenants t WHERE t.window_id = ${maintenanceWindows.id} AND t.tenant_id = ${tenantId}))`
    : sql`${maintenanceWindows.allTenants} = 1`
  const row = await db
    .select()
    .from(maintenanceWindows)
    .where(
      and(
        sql`${maintenanceWindows.state} IN ('scheduled', 'active')`,
        sql`${maintenanceWindows.startsAt} <= ${at}`,
        sql`${maintenanceWindows.endsAt} > ${at}`,
        scope,
      ),
    )
    .orderBy(desc(maintenanceWindows.endsAt))
    .get()
  if (!row) return null
  return {
    window_id: row.id,
    kind: row.kind,
    starts_at: row.startsAt,
    ends_at: row.endsAt,
    message: windowMessage(row),
    retry_after_seconds: Math.max(1, Math.ceil((Date.parse(row.endsAt) - now) / 1000)),
  }
}

/**
 * The platform-wide window the global flag follows at `now` (ms): the one in
 * force, else the next one starting within ARM_AHEAD_MS (its flag names its
 * start), else none.
 */
export async function globalWindowToFollow(db: Database, now: number): Promise<GlobalWindow | null> {
  const active = await activeMaintenance(db, now)
  if (active) return active
  const row = await db
    .select()
    .from(maintenanceWindows)
    .where(
      and(
        eq(maintenanceWindows.state, 'scheduled'),
        eq(maintenanceWindows.allTenants, true),
        gt(maintenanceWindows.startsAt, new Date(now).toISOString()),
        lte(maintenanceWindows.startsAt, new Date(now + ARM_AHEAD_MS).toISOString()),
      ),
    )
    .orderBy(asc(maintenanceWindows.startsAt))
    .get()
  return row ? { window_id: row.id, starts_at: row.startsAt, ends_at: row.endsAt, message: windowMessage(row) } : null
}

/** What users are shown while a window is in force: its own message, or when it ends. */
export function windowMessage(row: Pick<WindowRow, 'kind' | 'endsAt' | 'message'>): string {
  return row.message ?? `Mamori is under ${row.kind === 'outage' ? 'a planned outage' : 'maintenance'} until ${formatJst(row.endsAt)} (${row.endsAt}).`
}

/** Every window in force at `now` (ms), platform-wide or for some tenants, ending first first (at most 100). */
export async function windowsInForce(db: Database, now: number) {
  const at = new Date(now).toISOString()
  const rows = await db
    .select()
    .from(maintenanceWindows)
    .where(and(sql`${maintenanceWindows.state} IN ('scheduled', 'active')`, sql`${maintenanceWindows.startsAt} <= ${at}`, sql`${maintenanceWindows.endsAt} > ${at}`))
    .orderBy(maintenanceWindows.endsAt)
    .limit(100)
  return rows.map((r) => ({
    window_id: r.id,
    kind: r.kind,
    starts_at: r.startsAt,
    ends_at: r.endsAt,
    message: r.message,
    tenant_ids: r.allTenants ? null : (r.tenantIds ?? []),
  }))
}
