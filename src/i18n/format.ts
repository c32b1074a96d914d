import type { Locale } from './locale'

/**
 * Times and months as mails show them: always in Japan time (UTC+9 all
 * year, no daylight saving), whatever the recipient's language, because the
 * contracts, windows and support hours are all stated in JST.
 */
const JST_OFFSET_MS = 9 * 3_600_000
const WEEKDAYS_JA = ['日', '月', '火', '水', '木', '金', '土']

function jst(iso: string) {
  const d = new Date(Date.parse(iso) + JST_OFFSET_MS)
  const pad = (n: number) => String(n).padStart(2, '0')
  return {
    date: d.toISOString().slice(0, 10),
    time: `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`,
    ja: `${d.getUTCFullYear()}年${d.getUTCMonth() + 1}月${d.getUTCDate()}日(${WEEKDAYS_JA[d.getUTCDay()]})`,
  }
}

/** `2026年3月22日(日) 00:00` or `2026-03-22 00:00 JST`. */
export function dateTime(iso: string, locale: Locale): string {
  const t = jst(iso)
  return locale === 'ja' ? `${t.ja} ${t.time}` : `${t.date} ${t.time} JST`
}

/** A span of time; the end's date is left out when it is the start's. */
export function span(from: string, to: string, locale: Locale): string {
  const a = jst(from)
  const b = jst(to)
  if (locale === 'ja') return `${a.ja} ${a.time} ～ ${a.date === b.date ? '' : `${b.ja} `}${b.time}（日本時間）`
  return `${a.date} ${a.time} – ${a.date === b.date ? '' : `${b.date} `}${b.time} JST`
}

/** A `YYYY-MM` month: `2026年3月` or `2026-03`. */
export function month(yyyyMm: string, locale: Locale): string {
  if (locale === 'en') return yyyyMm
  const [y, m] = yyyyMm.split('-')
  return `${y}年${Number(m)}月`
}
