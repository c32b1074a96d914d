import { describe, expect, it } from 'vitest'
import {
  DEFAULT_STANDING_RULE,
  endOfServiceLeadMet,
  jstMonthRange,
  leadTimeMet,
  standingWindowOf,
  upcomingStandingWindows,
  withinStandingWindow,
  type StandingRule,
} from '../src/services/operations/calendar'

/**
 * The maintenance calendar against an independent reckoning: instead of the
 * +9 h arithmetic the service uses, the check walks UTC instants in steps
 * and asks the time-zone database (Intl, Asia/Tokyo) what JST wall clock and
 * weekday each is, counting the rule's weekday in each JST month.
 */
const jst = new Intl.DateTimeFormat('en-US', {
  timeZone: 'Asia/Tokyo',
  year: 'numeric',
  month: 'numeric',
  day: 'numeric',
  weekday: 'short',
  hour: 'numeric',
  minute: 'numeric',
  hourCycle: 'h23',
})
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']

function wallClock(ms: number) {
  const parts = Object.fromEntries(jst.formatToParts(new Date(ms)).map((p) => [p.type, p.value]))
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    weekday: WEEKDAYS.indexOf(parts.weekday!),
    minutes: Number(parts.hour) * 60 + Number(parts.minute),
  }
}

/** The rule's start in JST month (year, month 1–12), found by scanning every 30 minutes of UTC time around it. */
function independentStart(rule: StandingRule, year: number, month: number): number {
  const [h, m] = rule.start_time_jst.split(':').map(Number)
  const target = h! * 60 + m!
  let seen = 0
  // From two days before the month in UTC to two days after: JST's month lies inside whatever its offset.
  for (let t = Date.UTC(year, month - 1, 1) - 2 * 86_400_000; t < Date.UTC(year, month, 1) + 2 * 86_400_000; t += 30 * 60_000) {
    const w = wallClock(t)
    if (w.year !== year || w.month !== month || w.weekday !== rule.weekday || w.minutes !== target) continue
    seen += 1
    if (seen === rule.week_of_month) return t
  }
  throw new Error(`no start found for ${year}-${month}`)
}

const MONTHS = [2026, 2027, 2028].flatMap((year) => Array.from({ length: 12 }, (_, i) => ({ year, month: i + 1 })))

describe('the standing maintenance window', () => {
  it('is the 4th Sunday of every month 2026–2028, 00:00–05:00 JST, by an independent count of Sundays in JST', () => {
    expect(MONTHS).toHaveLength(36)
    const mismatches: string[] = []
    for (const { year, month } of MONTHS) {
      const window = standingWindowOf(DEFAULT_STANDING_RULE, year, month - 1)
      const start = independentStart(DEFAULT_STANDING_RULE, year, month)
      const expected = { starts_at: new Date(start).toISOString(), ends_at: new Date(start + 5 * 3_600_000).toISOString() }
      if (JSON.stringify(window) !== JSON.stringify(expected)) mismatches.push(`${year}-${month}: ${JSON.stringify(window)} ≠ ${JSON.stringify(expected)}`)
      // The wall clock the check reads says Sunday 00:00 and 05:00 on the same JST day.
      expect(wallClock(Date.parse(window.starts_at))).toMatchObject({ weekday: 0, minutes: 0, year, month })
      expect(wallClock(Date.parse(window.ends_at))).toMatchObject({ weekday: 0, minutes: 300 })
      expect(wallClock(Date.parse(window.starts_at)).day).toBeGreaterThanOrEqual(22)
      expect(wallClock(Date.parse(window.starts_at)).day).toBeLessThanOrEqual(28)
    }
    expect(mismatches).toEqual([])
  })

  it('names known dates: 2026-01-25, 2026-02-22, 2026-12-27 and 2028-02-27 (a leap year)', () => {
    expect(standingWindowOf(DEFAULT_STANDING_RULE, 2026, 0)).toEqual({ starts_at: '2026-01-24T15:00:00.000Z', ends_at: '2026-01-24T20:00:00.000Z' })
    expect(standingWindowOf(DEFAULT_STANDING_RULE, 2026, 1).starts_at).toBe('2026-02-21T15:00:00.000Z')
    expect(standingWindowOf(DEFAULT_STANDING_RULE, 2026, 11).starts_at).toBe('2026-12-26T15:00:00.000Z')
    expect(standingWindowOf(DEFAULT_STANDING_RULE, 2028, 1).starts_at).toBe('2028-02-26T15:00:00.000Z')
  })

  it('follows another rule too (the 2nd Tuesday, 23:30 JST for 5 hours, across midnight) for every month 2026–2028', () => {
    const rule: StandingRule = { week_of_month: 2, weekday: 2, start_time_jst: '23:30', duration_minutes: 300 }
    for (const { year, month } of MONTHS) {
      const start = independentStart(rule, year, month)
      expect(standingWindowOf(rule, year, month - 1)).toEqual({ starts_at: new Date(start).toISOString(), ends_at: new Date(start + 300 * 60_000).toISOString() })
    }
  })

  it('lists the next three windows from any instant, across a year end, the current one while it lasts', () => {
    // 2026-12-27 02:00 JST: inside December's window.
    const inside = Date.parse('2026-12-26T17:00:00Z')
    expect(upcomingStandingWindows(DEFAULT_STANDING_RULE, inside).map((w) => w.starts_at)).toEqual([
      '2026-12-26T15:00:00.000Z',
      '2027-01-23T15:00:00.000Z',
      '2027-02-27T15:00:00.000Z',
    ])
    // At its very end it is over.
    expect(upcomingStandingWindows(DEFAULT_STANDING_RULE, Date.parse('2026-12-26T20:00:00Z'))[0]!.starts_at).toBe('2027-01-23T15:00:00.000Z')
    // 2027-01-01 08:00 JST is still 2026-12-31 in UTC: January (JST) is the month it is in.
    expect(upcomingStandingWindows(DEFAULT_STANDING_RULE, Date.parse('2026-12-31T23:00:00Z'), 1)[0]!.starts_at).toBe('2027-01-23T15:00:00.000Z')
  })

  it('tells whether a window lies inside its month\u2019s standing window', () => {
    const start = Date.parse('2026-01-24T15:00:00Z')
    expect(withinStandingWindow(DEFAULT_STANDING_RULE, start, start + 300 * 60_000)).toBe(true)
    expect(withinStandingWindow(DEFAULT_STANDING_RULE, start + 60_000, start + 120 * 60_000)).toBe(true)
    expect(withinStandingWindow(DEFAULT_STANDING_RULE, start - 60_000, start + 60_000)).toBe(false)
    expect(withinStandingWindow(DEFAULT_STANDING_RULE, start, start + 301 * 60_000)).toBe(false)
  })

  it('measures a month in JST', () => {
    expect(jstMonthRange('2026-01')).toEqual({ start: Date.parse('2025-12-31T15:00:00Z'), end: Date.parse('2026-01-31T15:00:00Z') })
    expect(jstMonthRange('2026-12').end).toBe(Date.parse('2026-12-31T15:00:00Z'))
  })
})

describe('lead times, at the exact boundary', () => {
  const now = Date.parse('2026-03-01T00:00:00.000Z')
  const DAY = 86_400_000

  it('accepts maintenance exactly 7 days ahead and refuses it 1 ms sooner', () => {
    expect(leadTimeMet('maintenance', now + 7 * DAY, now)).toBe(true)
    expect(leadTimeMet('maintenance', now + 7 * DAY - 1, now)).toBe(false)
  })

  it('accepts a planned outage exactly 30 days ahead and refuses it 1 ms sooner', () => {
    expect(leadTimeMet('outage', now + 30 * DAY, now)).toBe(true)
    expect(leadTimeMet('outage', now + 30 * DAY - 1, now)).toBe(false)
    expect(leadTimeMet('outage', now + 7 * DAY, now)).toBe(false)
  })

  it('accepts end of service exactly 183 days ahead and refuses it 1 ms sooner', () => {
    expect(endOfServiceLeadMet(now + 183 * DAY, now)).toBe(true)
    expect(endOfServiceLeadMet(now + 183 * DAY - 1, now)).toBe(false)
  })
})
