import { Problem } from '../../lib/problem'
import { SLA_MONTH_PATTERN } from '../../schemas/sla'

/** JST is UTC+9 all year (no daylight saving). */
const JST_OFFSET_MS = 9 * 3_600_000


/** A report month: its name and its bounds in UTC (the month runs in JST). */
export type SlaMonth = {
  month: string
  /** The first instant of the month in JST, as ISO-8601 UTC. */
  from: string
  /** The first instant of the next month in JST (exclusive). */
  until: string
}

/** The month it is now in Japan. */
export function currentJstMonth(now = Date.now()): string {
  return new Date(now + JST_OFFSET_MS).toISOString().slice(0, 7)
}

function jstMonthStart(year: number, month: number): number {
  return Date.UTC(year, month - 1, 1) - JST_OFFSET_MS
}

/**
 * The report month `month` (default: this month in JST). A month that has
 * not begun yet has nothing to show, so it is refused like a malformed one
 * (422); the schema already refused anything not shaped `YYYY-MM`.
 */
export function slaMonth(month: string | undefined, now = Date.now()): SlaMonth {
  const name = month ?? currentJstMonth(now)
  if (!SLA_MONTH_PATTERN.test(name)) {
    throw Problem.validation([{ path: 'query.month', message: 'A month as YYYY-MM, from 2000-01 to 2099-12.' }])
  }
  const year = Number(name.slice(0, 4))
  const m = Number(name.slice(5, 7))
  const from = jstMonthStart(year, m)
  if (from > now) {
    throw Problem.validation(
      [{ path: 'query.month', message: `${name} has not begun yet (this month is ${currentJstMonth(now)} in JST).` }],
      'The report month is in the future.',
    )
  }
  return { month: name, from: new Date(from).toISOString(), until: new Date(jstMonthStart(year, m + 1)).toISOString() }
}
