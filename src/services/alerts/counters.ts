import { sql } from 'drizzle-orm'
import type { Database } from '../../db/client'
import { alertCounters } from '../../db/schema'
import type { SqlWrite } from '../../durable/audit-chain'
import { isoNow } from '../../lib/time'

/**
 * Exact counters in fixed windows, in D1, for the intrusion detectors. One
 * upsert counts an occurrence and answers the new count, so the occurrence
 * that reaches a threshold is known exactly, however many requests race; the
 * `fired` flag, set by the alert's own transaction, makes an alert go out
 * once per key and window even if the occurrence that reached the threshold
 * failed to raise it (the next one does).
 */

/** A fixed window: [start, end), `minutes` long, aligned to the epoch. */
export type AlertWindow = { start: string; end: string; minutes: number }

export function windowAt(now: number, minutes: number): AlertWindow {
  const ms = minutes * 60_000
  const start = Math.floor(now / ms) * ms
  return { start: isoNow(start), end: isoNow(start + ms), minutes }
}

/** One counter: what it counts (a key naming its tenant and subject), in which window. */
export type CounterRef = { key: string; tenantId: string | null; window: AlertWindow }

function countQuery(db: Database, ref: CounterRef) {
  return db
    .insert(alertCounters)
    .values({ key: ref.key, windowStart: ref.window.start, tenantId: ref.tenantId, count: 1, fired: false, windowEnd: ref.window.end })
    .onConflictDoUpdate({ target: [alertCounters.key, alertCounters.windowStart], set: { count: sql`${alertCounters.count} + 1` } })
    .returning({ count: alertCounters.count, fired: alertCounters.fired })
}

/** The write that counts one occurrence and returns `count` and `fired`: commit it with the occurrence's own audit event. */
export function countWrite(db: Database, ref: CounterRef): SqlWrite {
  return countQuery(db, ref).toSQL()
}

export type Counted = { count: number; fired: boolean }

/** The count and flag a countWrite() returned, from an audit batch's rows. */
export function countedOf(rows: unknown[] | undefined): Counted {
  const row = rows?.[0] as { count?: number; fired?: number | boolean } | undefined
  return { count: Number(row?.count ?? 0), fired: Boolean(row?.fired) }
}

/** Counts one occurrence on its own (where no audit event records the occurrence itself): one D1 write. */
export async function countNow(db: Database, ref: CounterRef): Promise<Counted> {
  const [row] = await countQuery(db, ref)
  return { count: row?.count ?? 0, fired: row?.fired ?? false }
}

/**
 * The write that marks the window's alert as fired. It changes a row only
 * the first time, so as a guarded write of the alert's batch it lets exactly
 * one alert per key and window commit. Creates the counter if the key was
 * never counted (alerts that fire once per window without counting).
 */
export function firedWrite(db: Database, ref: CounterRef): SqlWrite {
  return db
    .insert(alertCounters)
    .values({ key: ref.key, windowStart: ref.window.start, tenantId: ref.tenantId, count: 0, fired: true, windowEnd: ref.window.end })
    .onConflictDoUpdate({
      target: [alertCounters.key, alertCounters.windowStart],
      set: { fired: true },
      setWhere: sql`${alertCounters.fired} = 0`,
    })
    .toSQL()
}

/**
 * Removes counters whose window ended a day before `now`, at most `limit`
 * per run (one bounded statement; a backlog drains over a few runs).
 */
export async function sweepCounters(db: Database, now: number, limit: number): Promise<number> {
  const cutoff = isoNow(now - 86_400_000)
  const result = await db.run(
    sql`DELETE FROM ${alertCounters} WHERE rowid IN (SELECT rowid FROM ${alertCounters} WHERE ${alertCounters.windowEnd} < ${cutoff} ORDER BY ${alertCounters.windowEnd} LIMIT ${limit})`,
  )
  return result.meta.changes
}
