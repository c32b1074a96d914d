import { database } from '../../db/client'
import { checklistDocument } from '../../services/sla/checklist-document'
import { slaReport } from '../../services/sla/report'
import type { AppRouteHandler } from '../router'
import { sendChecklist, transportOf } from './sla.respond'
import type { ChecklistRoute, ReportRoute } from './sla.routes'

export const report: AppRouteHandler<ReportRoute> = async (c) => {
  const { month } = c.req.valid('query')
  const result = await slaReport(c.env, database(c.env), c.var.principal.tenantId!, { month, transport: transportOf(c) })
  c.header('Cache-Control', 'no-store')
  return c.json(result.report, 200)
}

export const checklist: AppRouteHandler<ChecklistRoute> = async (c) => {
  const { month, format, lang } = c.req.valid('query')
  const result = await slaReport(c.env, database(c.env), c.var.principal.tenantId!, { month, transport: transportOf(c) })
  return sendChecklist(c, await checklistDocument(result, format, lang))
}
