import { answeredChecklist, checklistCsv, type ChecklistLang } from './checklist'
import { checklistCsp, checklistHtml } from './checklist-html'
import type { SlaReportResult } from './report'

export type ChecklistDocument = { body: string; contentType: string; filename: string; csp: string | null }

/**
 * The answered checklist as a file to hand over: CSV for Excel, or a
 * printable HTML page (its own strict policy in `csp`).
 */
export async function checklistDocument(
  result: SlaReportResult,
  format: 'csv' | 'html',
  lang: ChecklistLang,
): Promise<ChecklistDocument> {
  const rows = answeredChecklist(result.report, lang)
  const base = `sla-checklist-${result.tenant?.slug ?? 'platform'}-${result.report.month}-${lang}`
  if (format === 'csv') return { body: checklistCsv(rows, lang), contentType: 'text/csv; charset=utf-8', filename: `${base}.csv`, csp: null }
  return { body: checklistHtml(result.report, result.tenant, rows, lang), contentType: 'text/html; charset=utf-8', filename: `${base}.html`, csp: await checklistCsp() }
}
