/** @jsxImportSource hono/jsx */
import { Hono } from 'hono'
import { database } from '../../db/client'
import { AUDIT_CATEGORIES, AuditFilterSchema, type AuditFilter } from '../../schemas/audit'
import { searchAudit } from '../../services/audit/audit'
import { jstToUtc } from '../../services/operations/calendar'
import { Field, Flash, Pager, Select, Table, Time, type FlashMessage } from '../../views/components'
import { Layout } from '../../views/layout'
import { auditExportPart } from '../audit/audit.export'
import { actorOf, requestMeta } from '../context'
import { consoleSession, html, problemFlash, type ConsoleContext, type ConsoleEnv } from './kit/page'
import { invalidFormProblem } from './kit/validate'

type Event = Awaited<ReturnType<typeof searchAudit>>['items'][number]

const TEXT_FILTERS = ['actor', 'action', 'target', 'request_id'] as const
const PAGE_SIZE = 50

/** A `YYYY-MM-DD` typed in the form as the first instant of that JST day (`plusDays` later). */
function jstDay(value: string, plusDays = 0): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value)
  if (!m) return value ? value : undefined
  return new Date(jstToUtc(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + plusDays)).toISOString()
}

/** The page's query as the API's audit filter: the same schema validates it. */
function filterOf(c: ConsoleContext): { filter: AuditFilter; raw: Record<string, string> } {
  const raw: Record<string, string> = {}
  for (const name of [...TEXT_FILTERS, 'category', 'since', 'until']) {
    const value = (c.req.query(name) ?? '').trim()
    if (value) raw[name] = value
  }
  const candidate = {
    ...Object.fromEntries(TEXT_FILTERS.filter((n) => raw[n]).map((n) => [n, raw[n]])),
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

const access = consoleSession('tenant', { permission: 'audit:read' })

export const auditPages = new Hono<ConsoleEnv>({ strict: true })

auditPages.get('/console/audit', access, async (c) => {
  const page = c.var.page
  const { t } = page
  const cursor = c.req.query('cursor')
  let flash: FlashMessage | null = null
  let rows: Event[] = []
  let next: string | null = null
  let raw: Record<string, string> = {}
  let status = 200
  try {
    const parsed = filterOf(c)
    raw = parsed.raw
    const found = await searchAudit(database(c.env), { tenantId: c.var.principal.tenantId! }, parsed.filter, PAGE_SIZE, cursor)
    rows = found.items
    next = found.next_cursor
  } catch (error) {
    flash = problemFlash(t, error)
    status = 422
    for (const name of [...TEXT_FILTERS, 'category', 'since', 'until']) if (c.req.query(name)) raw[name] = c.req.query(name)!
  }
  const params = new URLSearchParams(raw)
  const exportParams = new URLSearchParams(raw)
  return html(
    c,
    <Layout page={page} title={t('audit.title')}>
      <Flash flash={flash} />
      <form method="get" action="/console/audit" role="search" aria-label={t('audit.filters')}>
        <div class="filters">
          <Field label={t('audit.actor')} name="actor" value={raw.actor} />
          <Field label={t('audit.action')} name="action" value={raw.action} />
          <Field label={t('audit.target')} name="target" value={raw.target} />
          <Field label={t('audit.requestId')} name="request_id" value={raw.request_id} />
          <Select
            label={t('audit.category')}
            name="category"
            value={raw.category ?? ''}
            options={[{ value: '', label: t('audit.anyCategory') }, ...AUDIT_CATEGORIES.map((k) => ({ value: k, label: t(`audit.category.${k}`) }))]}
          />
          <Field label={t('audit.since')} name="since" type="date" value={raw.since} />
          <Field label={t('audit.until')} name="until" type="date" value={raw.until} />
          <div class="actions">
            <button type="submit">{t('audit.apply')}</button>
            <a href="/console/audit">{t('audit.clear')}</a>
          </div>
        </div>
      </form>
      <p class="actions">
        <a class="button secondary" href={`/console/audit/export${exportParams.size ? `?${exportParams}` : ''}`} download>
          {t('audit.export')}
        </a>
      </p>
      <Table<Event>
        caption={t('audit.title')}
        empty={t('audit.none')}
        rows={rows}
        columns={[
          { label: t('audit.time'), cell: (e) => <Time iso={e.at} />, nowrap: true },
          { label: t('audit.action'), cell: (e) => <code>{e.action}</code> },
          { label: t('audit.category'), cell: (e) => t(`audit.category.${e.category}`), nowrap: true },
          { label: t('audit.actor'), cell: (e) => <span class="mono">{e.actor_type}{e.actor_id ? `:${e.actor_id}` : ''}</span> },
          { label: t('audit.target'), cell: (e) => <span class="mono">{e.target_type ? `${e.target_type}:${e.target_id ?? ''}` : '–'}</span> },
          { label: t('audit.outcome'), cell: (e) => e.outcome },
          { label: t('audit.requestId'), cell: (e) => <span class="mono">{e.request_id ?? '–'}</span> },
        ]}
      />
      <Pager t={t} base="/console/audit" params={params} next={next} hasCursor={!!cursor} />
    </Layout>,
    status,
  )
})

/** The CSV export of what the filter shows: the API's export, a download that can never render as a page here. */
auditPages.get('/console/audit/export', access, async (c) => {
  const { filter } = filterOf(c)
  const caller = { tenantId: c.var.principal.tenantId!, actor: actorOf(c as never) }
  const part = await auditExportPart(c.env, requestMeta(c), c.req.url, caller, filter, 'csv', c.req.query('cursor'))
  return c.body(part.body, 200, { ...part.headers, 'Content-Security-Policy': 'sandbox', 'X-Content-Type-Options': 'nosniff' })
})
