import { DAY_MS } from '../../lib/time'

/**
 * The maintenance calendar's arithmetic, pure: no clock, no storage. Japan
 * has had no daylight saving time since 1951, so JST is UTC+9 all year and a
 * JST wall-clock time converts to UTC by one subtraction; the calendar date
 * of an instant in JST is the UTC date of the instant shifted by nine hours.
 */
export const JST_OFFSET_MS = 9 * 3_600_000

/** AV-1: no window, standing or scheduled, lasts longer than this. */
export const MAX_WINDOW_MINUTES = 300

/** AV-10 and AV-2: the notice a window needs, by kind, unless it is an emergency. */
export const LEAD_TIME_MS = { maintenance: 7 * DAY_MS, outage: 30 * DAY_MS } as const

/** AV-3: end of service is announced at least six months (183 days) ahead. */
export const END_OF_SERVICE_LEAD_MS = 183 * DAY_MS

export type WindowKind = keyof typeof LEAD_TIME_MS

/**
 * The rule of the standing monthly window: the `week_of_month`-th
 * `weekday` (0 = Sunday) of every JST calendar month, from `start_time_jst`
 * for `duration_minutes`. The 1st to 4th of a weekday exist in every month,
 * so the rule never skips one.
 */
export type StandingRule = {
  week_of_month: 1 | 2 | 3 | 4
  weekday: 0 | 1 | 2 | 3 | 4 | 5 | 6
  /** `HH:MM`, 24-hour, JST. */
  start_time_jst: string
  duration_minutes: number
}

/** AV-1 as the checklist states it: the 4th Sunday of every month, 00:00 JST, up to 5 hours. */
export const DEFAULT_STANDING_RULE: StandingRule = { week_of_month: 4, weekday: 0, start_time_jst: '00:00', duration_minutes: 300 }

export type Interval = { starts_at: string; ends_at: string }

/** The JST calendar month (year, 0-based month) an instant falls in. */
export function jstMonthOf(ms: number): { year: number; month: number } {
  const shifted = new Date(ms + JST_OFFSET_MS)
  return { year: shifted.getUTCFullYear(), month: shifted.getUTCMonth() }
}

/** The UTC instant of a JST wall-clock time; month may run past 11 (Date.UTC normalises it). */
export function jstToUtc(year: number, month: number, day: number, minutesOfDay = 0): number {
  return Date.UTC(year, month, day) + minutesOfDay * 60_000 - JST_OFFSET_MS
}

function minutesOfDay(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number)
  return h! * 60 + m!
}

/** The standing window of one JST month. */
export function standingWindowOf(rule: StandingRule, year: number, month: number): Interval {
  // The weekday of the 1st is a property of the calendar date alone, so UTC
  // arithmetic on the date (not on an instant) gives it for JST too.
  const firstWeekday = new Date(Date.UTC(year, month, 1)).getUTCDay()
  const day = 1 + ((rule.weekday - firstWeekday + 7) % 7) + 7 * (rule.week_of_month - 1)
  const start = jstToUtc(year, month, day, minutesOfDay(rule.start_time_jst))
  return { starts_at: new Date(start).toISOString(), ends_at: new Date(start + rule.duration_minutes * 60_000).toISOString() }
}

/**
 * The next `count` standing windows that have not ended at `now`: the one
 * of the current JST month while it is still ahead or in force, then the
 * following months', across year ends.
 */
export function upcomingStandingWindows(rule: StandingRule, now: number, count = 3): Interval[] {
  const { year, month } = jstMonthOf(now)
  const out: Interval[] = []
  for (let offset = 0; out.length < count; offset++) {
    const window = standingWindowOf(rule, year, month + offset)
    if (Date.parse(window.ends_at) > now) out.push(window)
  }
  return out
}

/** Whether [start, end) lies inside the standing window of its JST month (or the month before, for a rule near midnight). */
export function withinStandingWindow(rule: StandingRule, start: number, end: number): boolean {
  const { year, month } = jstMonthOf(start)
  return [month - 1, month].some((m) => {
    const w = standingWindowOf(rule, year, m)
    return start >= Date.parse(w.starts_at) && end <= Date.parse(w.ends_at)
  })
}

/**
 * Whether a window of `kind` starting at `startsAt` is announced early
 * enough at `now`: exactly the lead time is enough, one millisecond less is
 * not.
 */
export function leadTimeMet(kind: WindowKind, startsAt: number, now: number): boolean {
  return startsAt - now >= LEAD_TIME_MS[kind]
}

/** AV-3's rule for an end-of-service announcement, with the same exact boundary. */
export function endOfServiceLeadMet(effectiveAt: number, now: number): boolean {
  return effectiveAt - now >= END_OF_SERVICE_LEAD_MS
}

/** `YYYY-MM` as a JST calendar month: [first instant, first instant of the next month). */
export function jstMonthRange(month: string): { start: number; end: number } {
  const [y, m] = month.split('-').map(Number)
  return { start: jstToUtc(y!, m! - 1, 1), end: jstToUtc(y!, m!, 1) }
}

/** `2026-06-28 00:00 JST`, for mail and the status page. */
export function formatJst(iso: string): string {
  const shifted = new Date(Date.parse(iso) + JST_OFFSET_MS).toISOString()
  return `${shifted.slice(0, 10)} ${shifted.slice(11, 16)} JST`
}
