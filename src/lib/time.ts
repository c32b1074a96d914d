export const DAY_MS = 86_400_000

/** ISO-8601 UTC timestamps, the only time format on the wire and in D1. */
export function isoNow(now = Date.now()): string {
  return new Date(now).toISOString()
}

export function addMinutes(iso: string | number, minutes: number): string {
  const base = typeof iso === 'number' ? iso : Date.parse(iso)
  return new Date(base + minutes * 60_000).toISOString()
}
