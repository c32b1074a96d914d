export const DAY_MS = 86_400_000

/** ISO-8601 UTC timestamps, the only time format on the wire and in D1. */
export function isoNow(now = Date.now()): string {
  return new Date(now).toISOString()
}

export function addMinutes(iso: string | number, minutes: number): string {
  const base = typeof iso === 'number' ? iso : Date.parse(iso)
  return new Date(base + minutes * 60_000).toISOString()
}

/** Japan time is UTC+9 all year (no daylight saving). */
const JST_OFFSET_MS = 9 * 3_600_000

/** The calendar month in Japan time, `YYYY-MM`: the month contracts, quotas and invoices count in. */
export function jstMonth(now = Date.now()): string {
  return new Date(now + JST_OFFSET_MS).toISOString().slice(0, 7)
}

/** When the Japan-time month after the one holding `now` begins, in epoch milliseconds. */
export function nextJstMonthStart(now = Date.now()): number {
  const local = new Date(now + JST_OFFSET_MS)
  return Date.UTC(local.getUTCFullYear(), local.getUTCMonth() + 1, 1) - JST_OFFSET_MS
}

/** The calendar day in Japan time, `YYYY-MM-DD`: a nightly backup's generation. */
export function jstDate(now = Date.now()): string {
  return new Date(now + JST_OFFSET_MS).toISOString().slice(0, 10)
}
