import { z } from '@hono/zod-openapi'
import { jsonResponse, problemResponses } from '../../lib/openapi'
import { ChecklistFormatSchema, SlaMonthQuerySchema, SlaReportSchema } from '../../schemas/sla'
import { defineRoute } from '../router'

const operator = { audience: 'operator' } as const
const tags = ['Operators: SLA']

export const TenantQuery = z
  .string()
  .regex(/^tn_[0-9a-hjkmnp-tv-z]{26}$/, 'A tenant id.')
  .optional()
  .openapi({ example: 'tn_01jd0000000000000000000000', description: 'One tenant\u2019s report; absent: the whole platform, from aggregates.' })

export const report = defineRoute(operator, {
  method: 'get',
  path: '/ops/v1/sla',
  tags,
  summary: 'The live SLA report, platform-wide or for one tenant (R-SLA)',
  description:
    'Platform-wide, every tenant-dependent row is an aggregate over all tenants (a fixed number of queries, whatever the number of tenants). With `tenant_id`, the report that tenant\u2019s admins see.',
  request: { query: z.object({ month: SlaMonthQuerySchema, tenant_id: TenantQuery }) },
  responses: { 200: jsonResponse(SlaReportSchema, 'The report'), ...problemResponses(401, 404, 422) },
})

export const checklist = defineRoute(operator, {
  method: 'get',
  path: '/ops/v1/sla/checklist',
  tags,
  summary: 'The answered checklist in the seed\u2019s own layout, platform-wide or for one tenant',
  description: 'As `GET /api/v1/sla/checklist`, for the platform or (with `tenant_id`) one tenant: what a vendor hands a customer instead of filling the spreadsheet by hand.',
  request: { query: ChecklistFormatSchema.extend({ month: SlaMonthQuerySchema, tenant_id: TenantQuery }) },
  responses: {
    200: {
      description: 'The checklist',
      content: { 'text/csv': { schema: z.string() }, 'text/html': { schema: z.string() } },
    },
    ...problemResponses(401, 404, 422),
  },
})

export type ReportRoute = typeof report
export type ChecklistRoute = typeof checklist
