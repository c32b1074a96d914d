import { database } from '../../db/client'
import { checklistDocument } from '../../services/sla/checklist-document'
import { slaReport } from '../../services/sla/report'
import type { AppRouteHandler } from '../router'
import { sendChecklist, transportOf } from '../sla/sla.respond'
import type { ChecklistRoute, ReportRoute } from './ops-sla.routes'

export const report: AppRouteHandler<ReportRoute> = async (c) => {
  const { month, tenant_id } = c.req.valid('query')
  const result = await slaReport(c.env, database(c.env), tenant_id ?? null, { month, transport: transportOf(c) })
  c.header('Cache-Control', 'no-store')
  return c.json(result.report, 200)
}

export const checklist: AppRouteHandler<ChecklistRoute> = async (c) => {
  const { month, tenant_id, format, lang } = c.req.valid('query')
  const result = await slaReport(c.env, database(c.env), tenant_id ?? null, { month, transport: transportOf(c) })
  return sendChecklist(c, await checklistDocument(result, format, lang))
}
