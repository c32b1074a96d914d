import { and, asc, eq, gt, inArray, lte, or } from 'drizzle-orm'
import type { Database } from '../../db/client'
import { jsonList } from '../../db/json-list'
import { maintenanceWindows, noticeJobs } from '../../db/schema'
import type { RequestMeta } from '../../lib/request-meta'
import { DAY_MS } from '../../lib/time'
import { audit } from '../audit/audit'
import { ARM_AHEAD_MS, pushWindowFlags, windowFlagsArmed, windowFlagsOff, windowFlagsOn } from './window-flags'
import { windowMessage, windowNoticeWrite, type WindowRow } from './windows'

/**
 * The five-minute job's side of the maintenance calendar: it records each
 * window's start and end (state, audit event, notice) and queues the
 * reminders 7 days and 1 day ahead. `now` is the slot's scheduled time, so
 * the same slot run twice sees the same world, and every step is guarded on
 * the state it found: a second run changes nothing and mails nothing.
 */

/** Windows one run moves on; the rest wait five minutes. */
export const WINDOW_CLOCK_LIMIT = 50

const SYSTEM = { type: 'system' as const, id: 'maintenance-calendar' }

async function mark(env: Env, db: Database, meta: RequestMeta, w: WindowRow, to: 'active' | 'ended') {
  const event = to === 'active' ? 'started' : 'ended'
  // By the clock the window began and ended on time (activeMaintenance reads the clock); the audit event says when this was recorded.
  const at = to === 'active' ? w.startsAt : w.endsAt
  const stamp = new Date().toISOString()
  const job = windowNoticeWrite(w, event, `mw:${w.id}:${event}`, stamp)
  // The tenants' flags change in the same transaction as the window's state (and its audit event records it).
  const flags = to === 'active' ? windowFlagsOn(w, windowMessage(w), stamp) : windowFlagsOff(w, stamp)
  const result = await audit(
    env,
    meta,
    {
      tenantId: null,
      actor: SYSTEM,
      action: to === 'active' ? 'maintenance.window_started' : 'maintenance.window_ended',
      target: { type: 'maintenance_window', id: w.id },
      outcome: 'success',
      details: { kind: w.kind, starts_at: w.startsAt, ends_at: w.endsAt, tenant_ids: w.tenantIds, maintenance_flag: w.allTenants ? 'global' : 'tenants' },
    },
    [
      {
        sql: `UPDATE maintenance_windows SET state = ?, ${to === 'active' ? 'started_at' : 'ended_at'} = ? WHERE id = ? AND state = ?`,
        params: [to, at, w.id, to === 'active' ? 'scheduled' : 'active'],
      },
      job.write,
      ...(flags ? [flags] : []),
    ],
    { guard: 0 },
  )
  if (result.ok && flags) await pushWindowFlags(env, db, w.id)
  return result.ok
}

/** Starts the windows whose start has come and ends those whose end has; a window missed whole (the job was down) does both. */
export async function advanceWindows(env: Env, db: Database, now: number, meta: RequestMeta) {
  const at = new Date(now).toISOString()
  const due = await db
    .select()
    .from(maintenanceWindows)
    .where(
      or(
        and(eq(maintenanceWindows.state, 'scheduled'), lte(maintenanceWindows.startsAt, at)),
        and(eq(maintenanceWindows.state, 'active'), lte(maintenanceWindows.endsAt, at)),
      ),
    )
    .orderBy(asc(maintenanceWindows.startsAt))
    .limit(WINDOW_CLOCK_LIMIT)
  let started = 0
  let ended = 0
  for (const w of due) {
    let state = w.state
    if (state === 'scheduled' && (await mark(env, db, meta, w, 'active'))) {
      started++
      state = 'active'
    }
    if (state === 'active' && w.endsAt <= at && (await mark(env, db, meta, { ...w, state }, 'ended'))) ended++
  }
  return { started, ended }
}

/**
 * Arms the flags of the tenant windows that start before the next run
 * (within ARM_AHEAD_MS): they name the window's start, so the tenants are in
 * maintenance from that minute on, not from the first run after it. The
 * window itself starts (state, notice) at that run as before. Each arming is
 * audited once; a second run of the slot writes nothing.
 */
export async function armWindows(env: Env, db: Database, now: number, meta: RequestMeta) {
  const due = await db
    .select()
    .from(maintenanceWindows)
    .where(
      and(
        eq(maintenanceWindows.state, 'scheduled'),
        eq(maintenanceWindows.allTenants, false),
        gt(maintenanceWindows.startsAt, new Date(now).toISOString()),
        lte(maintenanceWindows.startsAt, new Date(now + ARM_AHEAD_MS).toISOString()),
      ),
    )
    .orderBy(asc(maintenanceWindows.startsAt))
    .limit(WINDOW_CLOCK_LIMIT)
  let armed = 0
  for (const w of due) {
    const flags = windowFlagsArmed(w, windowMessage(w), new Date().toISOString())!
    const result = await audit(
      env,
      meta,
      {
        tenantId: null,
        actor: SYSTEM,
        action: 'maintenance.window_armed',
        target: { type: 'maintenance_window', id: w.id },
        outcome: 'success',
        details: { kind: w.kind, starts_at: w.startsAt, ends_at: w.endsAt, tenant_ids: w.tenantIds, maintenance_flag: 'tenants' },
      },
      [flags],
      // Already armed as it stands (or changed, cancelled, or every tenant under an operator's longer flag): nothing to record.
      { guard: 0 },
    )
    if (!result.ok) continue
    armed++
    await pushWindowFlags(env, db, w.id)
  }
  return { armed }
}

export const REMINDER_DAYS = [7, 1] as const

/**
 * Queues the reminders of windows starting within 7 days: the 7-day one,
 * then the 1-day one, each once per revision of the window (a change sends
 * its own notice and re-arms them). A reminder is skipped when tenants were
 * told about the window (scheduled or changed) after its reminder time:
 * that notice already said it. When both are due at once (the job was
 * down), only the 1-day one goes.
 */
export async function queueWindowReminders(env: Env, db: Database, now: number, meta: RequestMeta) {
  const at = new Date(now).toISOString()
  const soon = await db
    .select()
    .from(maintenanceWindows)
    .where(
      and(
        eq(maintenanceWindows.state, 'scheduled'),
        gt(maintenanceWindows.startsAt, at),
        lte(maintenanceWindows.startsAt, new Date(now + REMINDER_DAYS[0] * DAY_MS).toISOString()),
      ),
    )
    .orderBy(asc(maintenanceWindows.startsAt))
    .limit(WINDOW_CLOCK_LIMIT)
  const due = soon.flatMap((w) => {
    const start = Date.parse(w.startsAt)
    const days = start - now <= REMINDER_DAYS[1] * DAY_MS ? REMINDER_DAYS[1] : REMINDER_DAYS[0]
    if (Date.parse(w.notifiedAt) >= start - days * DAY_MS) return []
    return [{ w, days, key: `mw:${w.id}:rev${w.revision}:${days}d` }]
  })
  if (!due.length) return { reminders: 0 }
  const queued = new Set(
    (await db.select({ key: noticeJobs.dedupeKey }).from(noticeJobs).where(inArray(noticeJobs.dedupeKey, jsonList(due.map((d) => d.key))))).map((r) => r.key),
  )
  let reminders = 0
  for (const { w, days, key } of due.filter((d) => !queued.has(d.key))) {
    const job = windowNoticeWrite(w, days === 1 ? 'reminder-1d' : 'reminder-7d', key, new Date().toISOString())
    const result = await audit(
      env,
      meta,
      {
        tenantId: null,
        actor: SYSTEM,
        action: 'maintenance.window_reminder',
        target: { type: 'maintenance_window', id: w.id },
        outcome: 'success',
        details: { days_before: days, starts_at: w.startsAt, revision: w.revision },
      },
      [job.write],
      // Queued by a concurrent run of the same slot: nothing to record twice.
      { guard: 0 },
    )
    if (result.ok) reminders++
  }
  return { reminders }
}
