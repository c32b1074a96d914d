import { and, eq, gt, isNull, lt, ne, or, sql } from 'drizzle-orm'
import type { Database } from '../../db/client'
import { incidents, maintenanceWindows, tenants } from '../../db/schema'
import { Problem } from '../../lib/problem'
import { jstMonthRange } from './calendar'
import { affectsTenant } from './incidents'

/**
 * AV-5, RE-1, RE-2: availability, MTTR and incident counts per month.
 *
 * availability = (planned service minutes − unplanned downtime minutes) ÷
 * planned service minutes, where
 * - a month is a JST calendar month, measured up to now while it is running
 *   (and, for a tenant, from its creation);
 * - planned service minutes are that time minus planned maintenance: windows
 *   that were not cancelled and not emergencies (for a tenant, its own and
 *   the platform-wide ones; platform-wide, only windows over every tenant),
 *   up to when they really ended;
 * - unplanned downtime is the union of the `major` and `critical` incidents
 *   (a `minor` one is degradation: the service answers) and of emergency
 *   windows (announced without the notice the SLA promises), minus planned
 *   maintenance, so overlapping causes count once and downtime inside a
 *   maintenance window not at all. Platform-wide, every incident counts,
 *   whichever tenants it hit: the platform figure never looks better than
 *   the worst tenant's;
 * - incidents, MTTR and incidents over a day count the incidents opened in
 *   the month (each in the month it began, so yearly sums count each once),
 *   of every severity; MTTR averages those resolved, an open one is over a
 *   day once it has been open for more than 24 hours.
 */

export type MonthlyAvailability = {
  month: string
  planned_minutes: number
  maintenance_minutes: number
  downtime_minutes: number
  /** 0..1, or null when no service was planned (a future month, or one spent in maintenance). */
  availability: number | null
  incidents: number
  mttr_minutes: number | null
  incidents_over_a_day: number
}

type Span = [number, number]

export type AvailabilityFacts = {
  /** The month, for counting incidents by when they began. */
  month: { start: number; end: number }
  /** The part of the month measured: [start, end). */
  period: { start: number; end: number }
  now: number
  incidents: { opened_at: string; resolved_at: string | null; severity: 'minor' | 'major' | 'critical' }[]
  /** `ends_at`: when the window really ended (or will end). */
  windows: { starts_at: string; ends_at: string; emergency: boolean }[]
}

const MINUTE = 60_000
const DAY = 86_400_000

/** Sorted, disjoint spans covering the same instants. */
function union(spans: Span[]): Span[] {
  const sorted = spans.filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0])
  const out: Span[] = []
  for (const [a, b] of sorted) {
    const last = out.at(-1)
    if (last && a <= last[1]) last[1] = Math.max(last[1], b)
    else out.push([a, b])
  }
  return out
}

function clip(spans: Span[], [from, to]: Span): Span[] {
  return union(spans.map(([a, b]) => [Math.max(a, from), Math.min(b, to)] as Span))
}

function length(spans: Span[]) {
  return spans.reduce((sum, [a, b]) => sum + (b - a), 0)
}

/** Both arguments disjoint and sorted (from union). */
function intersect(x: Span[], y: Span[]): Span[] {
  const out: Span[] = []
  let i = 0
  let j = 0
  while (i < x.length && j < y.length) {
    const a = Math.max(x[i]![0], y[j]![0])
    const b = Math.min(x[i]![1], y[j]![1])
    if (b > a) out.push([a, b])
    if (x[i]![1] < y[j]![1]) i++
    else j++
  }
  return out
}

/** The arithmetic alone, over plain facts: exact in milliseconds, reported in minutes. */
export function computeAvailability(facts: AvailabilityFacts, month: string): MonthlyAvailability {
  const period: Span = [facts.period.start, Math.max(facts.period.start, facts.period.end)]
  const end = (resolved: string | null) => (resolved ? Date.parse(resolved) : facts.now)
  const maintenance = clip(
    facts.windows.filter((w) => !w.emergency).map((w) => [Date.parse(w.starts_at), Date.parse(w.ends_at)] as Span),
    period,
  )
  const causes = clip(
    [
      ...facts.incidents.filter((i) => i.severity !== 'minor').map((i) => [Date.parse(i.opened_at), end(i.resolved_at)] as Span),
      ...facts.windows.filter((w) => w.emergency).map((w) => [Date.parse(w.starts_at), Date.parse(w.ends_at)] as Span),
    ],
    period,
  )
  const maintenanceMs = length(maintenance)
  const plannedMs = period[1] - period[0] - maintenanceMs
  const downtimeMs = length(causes) - length(intersect(causes, maintenance))
  const begun = facts.incidents.filter((i) => {
    const opened = Date.parse(i.opened_at)
    return opened >= facts.month.start && opened < facts.month.end
  })
  const repaired = begun.filter((i) => i.resolved_at).map((i) => Date.parse(i.resolved_at!) - Date.parse(i.opened_at))
  return {
    month,
    planned_minutes: plannedMs / MINUTE,
    maintenance_minutes: maintenanceMs / MINUTE,
    downtime_minutes: downtimeMs / MINUTE,
    availability: plannedMs > 0 ? (plannedMs - downtimeMs) / plannedMs : null,
    incidents: begun.length,
    mttr_minutes: repaired.length ? repaired.reduce((a, b) => a + b, 0) / repaired.length / MINUTE : null,
    incidents_over_a_day: begun.filter((i) => end(i.resolved_at) - Date.parse(i.opened_at) > DAY).length,
  }
}

const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/

/**
 * One month's availability from the stored incidents and windows,
 * platform-wide or for one tenant (404 for an unknown tenant, 422 for a
 * month that is not `YYYY-MM`). For the SLA report (AV-5, RE-1, RE-2).
 */
export async function monthlyAvailability(db: Database, month: string, tenantId?: string, now = Date.now()): Promise<MonthlyAvailability> {
  if (!MONTH.test(month)) throw Problem.validation([{ path: 'query.month', message: 'A month as YYYY-MM.' }], 'Invalid month.')
  const range = jstMonthRange(month)
  let start = range.start
  if (tenantId) {
    const tenant = await db.select({ createdAt: tenants.createdAt }).from(tenants).where(eq(tenants.id, tenantId)).get()
    if (!tenant) throw Problem.notFound('tenant', tenantId)
    start = Math.max(start, Date.parse(tenant.createdAt))
  }
  const from = new Date(range.start).toISOString()
  const to = new Date(range.end).toISOString()
  const windowEnd = sql<string>`COALESCE(MIN(${maintenanceWindows.endedAt}, ${maintenanceWindows.endsAt}), ${maintenanceWindows.endsAt})`
  const [incidentRows, windowRows] = await Promise.all([
    db
      .select({ opened_at: incidents.openedAt, resolved_at: incidents.resolvedAt, severity: incidents.severity })
      .from(incidents)
      .where(
        and(
          lt(incidents.openedAt, to),
          or(isNull(incidents.resolvedAt), gt(incidents.resolvedAt, from)),
          tenantId ? affectsTenant(tenantId) : undefined,
        ),
      ),
    db
      .select({ starts_at: maintenanceWindows.startsAt, ends_at: windowEnd, emergency: maintenanceWindows.emergency, all: maintenanceWindows.allTenants })
      .from(maintenanceWindows)
      .where(
        and(
          ne(maintenanceWindows.state, 'cancelled'),
          lt(maintenanceWindows.startsAt, to),
          sql`${windowEnd} > ${from}`,
          tenantId
            ? sql`(${maintenanceWindows.allTenants} = 1 OR EXISTS (SELECT 1 FROM maintenance_window_tenants t WHERE t.window_id = ${maintenanceWindows.id} AND t.tenant_id = ${tenantId}))`
            : undefined,
        ),
      ),
  ])
  return computeAvailability(
    {
      month: range,
      period: { start, end: Math.min(range.end, now) },
      now,
      incidents: incidentRows,
      // Platform-wide, one tenant's planned window is not the platform's maintenance; its emergencies still count as downtime.
      windows: windowRows.filter((w) => tenantId || w.all || w.emergency),
    },
    month,
  )
}
