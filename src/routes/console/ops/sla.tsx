/** @jsxImportSource hono/jsx */
import { Hono } from 'hono'
import { z } from '@hono/zod-openapi'
import { database } from '../../../db/client'
import { ChecklistFormatSchema, SlaMonthQuerySchema } from '../../../schemas/sla'
import { checklistDocument } from '../../../services/sla/checklist-document'
import { slaReport } from '../../../services/sla/report'
import { Layout } from '../../../views/layout'
import { SlaReportView } from '../../../views/sla'
import { TenantQuery } from '../../ops-sla/ops-sla.routes'
import { sendChecklist, transportOf } from '../../sla/sla.respond'
import { consoleSession, html, type ConsoleEnv } from '../kit/page'
import { invalidFormProblem } from '../kit/validate'

const signedIn = consoleSession('ops')

// The query of GET /ops/v1/sla (its tenant_id: an id, or absent for the platform).
const ReportQuery = z.object({ month: SlaMonthQuerySchema, tenant_id: TenantQuery })

function queryOf(query: Record<string, string>) {
  const candidate = { ...(query.month ? { month: query.month } : {}), ...(query.tenant_id?.trim() ? { tenant_id: query.tenant_id.trim() } : {}) }
  const parsed = ReportQuery.safeParse(candidate)
  if (!parsed.success) throw invalidFormProblem(parsed.error)
  return parsed.data
}

export const opsSlaPages = new Hono<ConsoleEnv>({ strict: true })

opsSlaPages.get('/ops/console/sla', signedIn, async (c) => {
  const page = c.var.page
  const { month, tenant_id } = queryOf(c.req.query())
  const result = await slaReport(c.env, database(c.env), tenant_id ?? null, { month, transport: transportOf(c as never) })
  const params = new URLSearchParams({ month: result.report.month, ...(tenant_id ? { tenant_id } : {}) })
  const title = result.tenant ? `${page.t('sla.title')}: ${result.tenant.slug}` : `${page.t('sla.title')}: ${page.t('sla.platform')}`
  return html(
    c,
    <Layout page={page} title={title}>
      <SlaReportView
        page={page}
        report={result.report}
        action="/ops/console/sla"
        checklistBase="/ops/console/sla/checklist"
        params={params}
        extraFilter={{ name: 'tenant_id', label: page.t('sla.tenantId'), value: tenant_id ?? '' }}
      />
    </Layout>,
  )
})

/** The answered checklist, exactly as GET /ops/v1/sla/checklist sends it (a sandboxed page or a download). */
opsSlaPages.get('/ops/console/sla/checklist', signedIn, async (c) => {
  const { month, tenant_id } = queryOf(c.req.query())
  const format = ChecklistFormatSchema.safeParse({ ...(c.req.query('format') ? { format: c.req.query('format') } : {}), ...(c.req.query('lang') ? { lang: c.req.query('lang') } : {}) })
  if (!format.success) throw invalidFormProblem(format.error)
  const result = await slaReport(c.env, database(c.env), tenant_id ?? null, { month, transport: transportOf(c as never) })
  return sendChecklist(c as never, await checklistDocument(result, format.data.format, format.data.lang))
})
