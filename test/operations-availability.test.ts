import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { database } from '../src/db/client'
import { newId } from '../src/lib/ids'
import { computeAvailability, monthlyAvailability, type AvailabilityFacts } from '../src/services/operations/availability'
import { jstMonthRange } from '../src/services/operations/calendar'

/**
 * AV-5, RE-1, RE-2: availability and MTTR arithmetic on fixtures, to the
 * minute. Months are JST months: March 2026 runs from 2026-02-28T15:00Z to
 * 2026-03-31T15:00Z, 31 days = 44,640 minutes.
 */
const MARCH = jstMonthRange('2026-03')
const MIN = 60_000
const at = (ms: number) => new Date(ms).toISOString()
const AFTER = Date.parse('2030-01-01T00:00:00Z')

function facts(partial: Partial<AvailabilityFacts>, range = MARCH): AvailabilityFacts {
  return { month: range, period: range, now: AFTER, incidents: [], windows: [], ...partial }
}

describe('availability arithmetic', () => {
  it('is 1 for a month with nothing in it, and MTTR is null', () => {
    expect(computeAvailability(facts({}), '2026-03')).toEqual({
      month: '2026-03',
      planned_minutes: 44_640,
      maintenance_minutes: 0,
      downtime_minutes: 0,
      availability: 1,
      incidents: 0,
      mttr_minutes: null,
      incidents_over_a_day: 0,
    })
  })

  it('counts overlapping incidents once, downtime inside maintenance not at all, and minor incidents only in the counts', () => {
    const w = MARCH.start + 10 * 1440 * MIN // a 300-minute window on day 11
    const t = MARCH.start + 20 * 1440 * MIN
    const result = computeAvailability(
      facts({
        windows: [{ starts_at: at(w), ends_at: at(w + 300 * MIN), emergency: false }],
        incidents: [
          { opened_at: at(t), resolved_at: at(t + 60 * MIN), severity: 'major' }, // 60
          { opened_at: at(t + 30 * MIN), resolved_at: at(t + 90 * MIN), severity: 'critical' }, // +30 (overlaps the first)
          { opened_at: at(w - 10 * MIN), resolved_at: at(w + 20 * MIN), severity: 'critical' }, // 10 before the window, 20 inside
          { opened_at: at(t + 1000 * MIN), resolved_at: at(t + 1120 * MIN), severity: 'minor' }, // degradation: no downtime
        ],
      }),
      '2026-03',
    )
    expect(result).toEqual({
      month: '2026-03',
      planned_minutes: 44_340,
      maintenance_minutes: 300,
      downtime_minutes: 100,
      availability: (44_340 - 100) / 44_340,
      incidents: 4,
      mttr_minutes: (60 + 60 + 30 + 120) / 4,
      incidents_over_a_day: 0,
    })
  })

  it('splits an incident across a month boundary, counting it (and its repair time) in the month it began', () => {
    const FEB = jstMonthRange('2026-02')
    const incident = { opened_at: at(MARCH.start - 45 * MIN), resolved_at: at(MARCH.start + 75 * MIN), severity: 'major' as const }
    const feb = computeAvailability(facts({ incidents: [incident] }, FEB), '2026-02')
    const march = computeAvailability(facts({ incidents: [incident] }), '2026-03')
    expect(feb).toMatchObject({ planned_minutes: 28 * 1440, downtime_minutes: 45, incidents: 1, mttr_minutes: 120 })
    expect(march).toMatchObject({ planned_minutes: 44_640, downtime_minutes: 75, incidents: 0, mttr_minutes: null })
    expect(march.availability).toBe((44_640 - 75) / 44_640)
  })

  it('counts an emergency window as downtime, not maintenance', () => {
    const w = MARCH.start + 5 * 1440 * MIN
    const result = computeAvailability(facts({ windows: [{ starts_at: at(w), ends_at: at(w + 120 * MIN), emergency: true }] }), '2026-03')
    expect(result).toMatchObject({ planned_minutes: 44_640, maintenance_minutes: 0, downtime_minutes: 120 })
  })

  it('measures a running month up to now, an open incident until now, and one open over 24 hours as over a day', () => {
    const now = MARCH.start + 3 * 1440 * MIN // three days in
    const result = computeAvailability(
      facts({ now, period: { start: MARCH.start, end: now }, incidents: [{ opened_at: at(MARCH.start + 1440 * MIN), resolved_at: null, severity: 'critical' }] }),
      '2026-03',
    )
    expect(result).toEqual({
      month: '2026-03',
      planned_minutes: 3 * 1440,
      maintenance_minutes: 0,
      downtime_minutes: 2 * 1440,
      availability: 1 / 3,
      incidents: 1,
      mttr_minutes: null,
      incidents_over_a_day: 1,
    })
  })

  it('counts a resolved incident longer than a day as over a day', () => {
    const t = MARCH.start + 1440 * MIN
    const result = computeAvailability(facts({ incidents: [{ opened_at: at(t), resolved_at: at(t + 1441 * MIN), severity: 'minor' }, { opened_at: at(t), resolved_at: at(t + 1440 * MIN), severity: 'minor' }] }), '2026-03')
    expect(result).toMatchObject({ incidents: 2, incidents_over_a_day: 1, mttr_minutes: 1440.5, downtime_minutes: 0 })
  })

  it('answers null availability when no service was planned (a future month, or one spent in maintenance)', () => {
    expect(computeAvailability(facts({ period: { start: MARCH.start, end: MARCH.start - 1 } }), '2026-03')).toMatchObject({ planned_minutes: 0, availability: null })
    expect(computeAvailability(facts({ windows: [{ starts_at: at(MARCH.start - MIN), ends_at: at(MARCH.end + MIN), emergency: false }] }), '2026-03')).toMatchObject({
      planned_minutes: 0,
      maintenance_minutes: 44_640,
      availability: null,
    })
  })
})

describe('monthlyAvailability over stored incidents and windows', () => {
  // May 2021 (JST), long before anything else in this file: 31 days.
  const MAY = jstMonthRange('2021-05')
  const PLANNED = 31 * 1440

  async function tenant(createdAt: string) {
    const id = newId('tn')
    await env.DB.prepare(
      "INSERT INTO tenants (id, slug, name, plan_id, status, contact_email, created_at, updated_at) VALUES (?, ?, 'Fixture', 'standard', 'active', 'c@example.com', ?, ?)",
    )
      .bind(id, `fx-${id.slice(-8)}`, createdAt, createdAt)
      .run()
    return id
  }

  async function incident(opened: number, minutes: number, severity: string, tenants: string[] | null) {
    const id = newId('inc')
    await env.DB.prepare(
      "INSERT INTO incidents (id, title, description, severity, status, source, all_tenants, tenant_ids, opened_at, resolved_at, opened_by, updated_at) VALUES (?, 't', 'd', ?, 'resolved', 'operator', ?, ?, ?, ?, 'operator:x', ?)",
    )
      .bind(id, severity, tenants ? 0 : 1, tenants ? JSON.stringify(tenants) : null, at(opened), at(opened + minutes * MIN), at(opened))
      .run()
    for (const t of tenants ?? []) await env.DB.prepare('INSERT INTO incident_tenants (incident_id, tenant_id) VALUES (?, ?)').bind(id, t).run()
  }

  async function window(start: number, minutes: number, state: string, tenants: string[] | null, extra: { endedAt?: number; emergency?: boolean } = {}) {
    const id = newId('mw')
    await env.DB.prepare(
      `INSERT INTO maintenance_windows (id, kind, state, starts_at, ends_at, duration_minutes, emergency, all_tenants, tenant_ids, notified_at, created_by, created_at, updated_at, ended_at)
       VALUES (?, 'maintenance', ?, ?, ?, ?, ?, ?, ?, ?, 'operator:x', ?, ?, ?)`,
    )
      .bind(id, state, at(start), at(start + minutes * MIN), minutes, extra.emergency ? 1 : 0, tenants ? 0 : 1, tenants ? JSON.stringify(tenants) : null, at(start), at(start), at(start), extra.endedAt ? at(extra.endedAt) : null)
      .run()
    for (const t of tenants ?? []) await env.DB.prepare('INSERT INTO maintenance_window_tenants (window_id, tenant_id) VALUES (?, ?)').bind(id, t).run()
  }

  it('scopes to the tenant, counts every incident platform-wide, ignores cancelled windows and ends early-ended ones early', async () => {
    const a = await tenant('2020-01-01T00:00:00.000Z')
    const b = await tenant('2020-01-01T00:00:00.000Z')
    const day = (n: number) => MAY.start + n * 1440 * MIN
    await window(day(1), 300, 'ended', null) // platform-wide: 300
    await window(day(2), 300, 'ended', null, { endedAt: day(2) + 100 * MIN }) // ended after 100
    await window(day(3), 300, 'cancelled', null) // never happened
    await window(day(4), 200, 'ended', [a]) // a's own
    await incident(day(10), 60, 'major', null) // everyone
    await incident(day(11), 30, 'critical', [b]) // b only
    await incident(day(4) + 150 * MIN, 100, 'critical', [a]) // 50 inside a's window, 50 after

    const db = database(env)
    expect(await monthlyAvailability(db, '2021-05', a)).toEqual({
      month: '2021-05',
      planned_minutes: PLANNED - 600,
      maintenance_minutes: 600,
      downtime_minutes: 110,
      availability: (PLANNED - 600 - 110) / (PLANNED - 600),
      incidents: 2,
      mttr_minutes: 80,
      incidents_over_a_day: 0,
    })
    expect(await monthlyAvailability(db, '2021-05', b)).toMatchObject({ planned_minutes: PLANNED - 400, maintenance_minutes: 400, downtime_minutes: 90, incidents: 2, mttr_minutes: 45 })
    // Platform-wide: only the windows over every tenant are its maintenance; every incident is its downtime.
    expect(await monthlyAvailability(db, '2021-05')).toMatchObject({ planned_minutes: PLANNED - 400, maintenance_minutes: 400, downtime_minutes: 190, incidents: 3 })
  })

  it('measures a tenant only from its creation', async () => {
    const late = await tenant(at(MAY.start + 10 * 1440 * MIN))
    expect(await monthlyAvailability(database(env), '2021-05', late)).toMatchObject({ planned_minutes: 21 * 1440 })
  })

  it('refuses a malformed month and an unknown tenant', async () => {
    await expect(monthlyAvailability(database(env), '2021-13')).rejects.toMatchObject({ status: 422 })
    await expect(monthlyAvailability(database(env), '2021-05', newId('tn'))).rejects.toMatchObject({ status: 404 })
  })
})
