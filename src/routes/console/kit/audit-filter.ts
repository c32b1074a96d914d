import type { Context } from 'hono'
import { AuditFilterSchema, type AuditFilter } from '../../../schemas/audit'
import { jstToUtc } from '../../../services/operations/calendar'
import { invalidFormProblem } from './validate'

export const AUDIT_TEXT_FILTERS = ['actor', 'action', 'target', 'request_id'] as const
const ALL_FILTERS = [...AUDIT_TEXT_FILTERS, 'category', 'since', 'until'] as const

/** A `YYYY-MM-DD` typed in the form as the first instant of that JST day (`plusDays` later). */
function jstDay(value: string, plusDays = 0): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value)
  if (!m) return value ? value : undefined
  return new Date(jstToUtc(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + plusDays)).toISOString()
}

/** The filter fields as typed (for refilling the form), whether or not they validate. */
export function rawAuditFilter(c: Context, extra: readonly string[] = []): Record<string, string> {
  const raw: Record<string, string> = {}
  for (const name of [...ALL_FILTERS, ...extra]) {
    const value = (c.req.query(name) ?? '').trim()
    if (value) raw[name] = value
  }
  return raw
}

/** The page's query as the API's audit filter: the same schema validates it. */
export function auditFilterOf(c: Context): { filter: AuditFilter; raw: Record<string, string> } {
  const raw = rawAuditFilter(c)
  const candidate = {
    ...Object.fromEntries(AUDIT_TEXT_FILTERS.filter((n) => raw[n]).map((n) => [n, raw[n]])),
    ...(raw.category ? { category: raw.category } : {}),
    ...(raw.since ? { since: jstDay(raw.since) } : {}),
    // The form's end date is inclusive: up to the start of the next JST day.
    ...(raw.until ? { until: jstDay(raw.until, 1) } : {}),
  }
  const parsed = AuditFilterSchema.safeParse(candidate)
  if (!parsed.success) throw invalidFormProblem(parsed.error)
  if (parsed.data.since && parsed.data.until && parsed.data.since >= parsed.data.until) {
    throw invalidFormProblem({ issues: [{ path: ['until'], message: 'The end date must not be before the start date.', code: 'custom' }] } as never)
  }
  return { filter: parsed.data, raw }
}
