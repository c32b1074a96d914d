/** @jsxImportSource hono/jsx */
import { Hono } from 'hono'
import { z } from '@hono/zod-openapi'
import { database } from '../../db/client'
import { ChecklistFormatSchema, SlaMonthQuerySchema } from '../../schemas/sla'
import { checklistDocument } from '../../services/sla/checklist-document'
import { slaReport } from '../../services/sla/report'
import { Layout } from '../../views/layout'
import { SlaReportView } from '../../views/sla'
import { sendChecklist, transportOf } from '../sla/sla.respond'
import { consoleSession, html, type ConsoleEnv } from './kit/page'
import { invalidFormProblem } from './kit/validate'

// The query of GET /api/v1/sla and its checklist.
const ReportQuery = z.object({ month: SlaMonthQuerySchema })

function monthOf(query: Record<string, string>) {
  const parsed = ReportQuery.safeParse(query.month ? { month: query.month } : {})
  if (!parsed.success) throw invalidFormProblem(parsed.error)
  return parsed.data.month
}

const admin = consoleSession('tenant', { admin: true })

export const slaPages = new Hono<ConsoleEnv>({ strict: true })

slaPages.get('/console/sla', admin, async (c) => {
  const page = c.var.page
  const result = await slaReport(c.env, database(c.env), c.var.principal.tenantId!, { month: monthOf(c.req.query()), transport: transportOf(c as never) })
  return html(
    c,
    <Layout page={page} title={page.t('sla.title')}>
      <SlaReportView page={page} report={result.report} action="/console/sla" checklistBase="/console/sla/checklist" params={new URLSearchParams({ month: result.report.month })} />
    </Layout>,
  )
})

/** The answered checklist, exactly as GET /api/v1/sla/checklist sends it (a sandboxed page or a download). */
slaPages.get('/console/sla/checklist', admin, async (c) => {
  const month = monthOf(c.req.query())
  const format = ChecklistFormatSchema.safeParse({ ...(c.req.query('format') ? { format: c.req.query('format') } : {}), ...(c.req.query('lang') ? { lang: c.req.query('lang') } : {}) })
  if (!format.success) throw invalidFormProblem(format.error)
  const result = await slaReport(c.env, database(c.env), c.var.principal.tenantId!, { month, transport: transportOf(c as never) })
  return sendChecklist(c as never, await checklistDocument(result, format.data.format, format.data.lang))
})
