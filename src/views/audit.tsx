/** @jsxImportSource hono/jsx */
import type { Child } from 'hono/jsx'
import { AUDIT_CATEGORIES } from '../schemas/audit'
import type { searchAudit } from '../services/audit/audit'
import { Field, Select, Table, Time } from './components'
import type { PageContext } from './layout'

export type AuditEvent = Awaited<ReturnType<typeof searchAudit>>['items'][number]

/** The filter form of an audit viewer (GET, so a filtered view is a link). `extra` adds fields before the dates. */
export function AuditFilters({ page, action, raw, extra }: { page: PageContext; action: string; raw: Record<string, string>; extra?: Child }) {
  const { t } = page
  return (
    <form method="get" action={action} role="search" aria-label={t('audit.filters')}>
      <div class="filters">
        <Field label={t('audit.actor')} name="actor" value={raw.actor} />
        <Field label={t('audit.action')} name="action" value={raw.action} />
        <Field label={t('audit.target')} name="target" value={raw.target} />
        <Field label={t('audit.requestId')} name="request_id" value={raw.request_id} />
        {extra}
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
          <a href={action}>{t('audit.clear')}</a>
        </div>
      </div>
    </form>
  )
}

export function AuditTable({ page, rows, withTenant }: { page: PageContext; rows: AuditEvent[]; withTenant?: boolean }) {
  const { t } = page
  return (
    <Table<AuditEvent>
      caption={t('audit.title')}
      empty={t('audit.none')}
      rows={rows}
      columns={[
        { label: t('audit.time'), cell: (e) => <Time iso={e.at} />, nowrap: true },
        ...(withTenant ? [{ label: t('ops.audit.tenant'), cell: (e: AuditEvent) => <span class="mono">{e.tenant_id ?? t('ops.audit.platform')}</span> }] : []),
        { label: t('audit.action'), cell: (e) => <code>{e.action}</code>, nowrap: true },
        { label: t('audit.category'), cell: (e) => t(`audit.category.${e.category}`), nowrap: true },
        { label: t('audit.actor'), cell: (e) => <span class="mono">{e.actor_type}{e.actor_id ? `:${e.actor_id}` : ''}</span> },
        { label: t('audit.target'), cell: (e) => <span class="mono">{e.target_type ? `${e.target_type}:${e.target_id ?? ''}` : '–'}</span> },
        { label: t('audit.outcome'), cell: (e) => e.outcome },
        { label: t('audit.requestId'), cell: (e) => <span class="mono">{e.request_id ?? '–'}</span> },
      ]}
    />
  )
}
