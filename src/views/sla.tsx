/** @jsxImportSource hono/jsx */
import type { SlaReport, SlaRow } from '../schemas/sla'
import { Field, Table, Time } from './components'
import type { PageContext } from './layout'

/** Links to the answered checklist in both languages and formats, from the console's own download route. */
function ChecklistLinks({ page, base, params }: { page: PageContext; base: string; params: URLSearchParams }) {
  const { t } = page
  const link = (format: 'csv' | 'html', lang: 'ja' | 'en') => {
    const q = new URLSearchParams(params)
    q.set('format', format)
    q.set('lang', lang)
    return `${base}?${q}`
  }
  return (
    <section aria-labelledby="checklist">
      <h2 id="checklist">{t('sla.checklist')}</h2>
      <ul class="links">
        <li>
          <a href={link('html', 'ja')}>{t('sla.checklist.htmlJa')}</a>
        </li>
        <li>
          <a href={link('html', 'en')}>{t('sla.checklist.htmlEn')}</a>
        </li>
        <li>
          <a href={link('csv', 'ja')} download>
            {t('sla.checklist.csvJa')}
          </a>
        </li>
        <li>
          <a href={link('csv', 'en')} download>
            {t('sla.checklist.csvEn')}
          </a>
        </li>
      </ul>
    </section>
  )
}

/** The SLA report as a page: the month picker, the counts, every row with its status and summary in the viewer's language. */
export function SlaReportView({ page, report, action, checklistBase, params, extraFilter }: { page: PageContext; report: SlaReport; action: string; checklistBase: string; params: URLSearchParams; extraFilter?: { name: string; label: string; value: string } }) {
  const { t, locale } = page
  return (
    <>
      <form method="get" action={action} class="filters" aria-label={t('sla.month')}>
        <Field label={t('sla.month')} name="month" type="month" value={report.month} />
        {extraFilter ? <Field label={extraFilter.label} name={extraFilter.name} value={extraFilter.value} /> : null}
        <div class="actions">
          <button type="submit">{t('sla.show')}</button>
        </div>
      </form>
      <p>
        {t('sla.generated')}: <Time iso={report.generated_at} /> · {t('sla.counts', { met: report.counts.met, notMet: report.counts.not_met, notYet: report.counts.not_yet_measured, org: report.counts.organisational })}
      </p>
      <ChecklistLinks page={page} base={checklistBase} params={params} />
      <Table<SlaRow>
        caption={t('sla.rows')}
        empty={t('common.none')}
        rows={report.rows}
        columns={[
          { label: t('sla.id'), cell: (r) => <span class="mono">{r.id}</span>, nowrap: true },
          { label: t('sla.category'), cell: (r) => r.category },
          { label: t('sla.status'), cell: (r) => <span class={`status ${r.status}`}>{t(`sla.status.${r.status}`)}</span>, nowrap: true },
          { label: t('sla.summary'), cell: (r) => r.summary[locale] },
          { label: t('sla.note'), cell: (r) => r.note?.[locale] ?? '–' },
        ]}
      />
    </>
  )
}
