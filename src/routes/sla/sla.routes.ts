import { z } from '@hono/zod-openapi'
import { jsonResponse, problemResponses } from '../../lib/openapi'
import { ChecklistFormatSchema, SlaMonthQuerySchema, SlaReportSchema } from '../../schemas/sla'
import { defineRoute } from '../router'

const access = { audience: 'tenant', role: 'admin' } as const
const tags = ['SLA']

export const report = defineRoute(access, {
  method: 'get',
  path: '/api/v1/sla',
  tags,
  summary: 'The live SLA report for this tenant (R-SLA): every requirement with its value in force and evidence',
  description:
    'One row per requirement of the catalogue (REQUIREMENTS.md). Settings are as in force now; counts (events, resets, reads) are for the month. A row this build cannot measure says `not_yet_measured`, never a guessed value.',
  request: { query: z.object({ month: SlaMonthQuerySchema }) },
  responses: { 200: jsonResponse(SlaReportSchema, 'The report'), ...problemResponses(401, 403, 422) },
})

export const checklist = defineRoute(access, {
  method: 'get',
  path: '/api/v1/sla/checklist',
  tags,
  summary: 'The answered checklist for this tenant, in the seed\u2019s own layout (種別, サービスレベル項目例, 規程内容, 測定単位, 回答)',
  description:
    'One row per row of the customer\u2019s checklist, in its order: the stated answer, with the live value and its evidence next to it. CSV opens correctly in Excel; HTML is a printable page without scripts.',
  request: { query: ChecklistFormatSchema.extend({ month: SlaMonthQuerySchema }) },
  responses: {
    200: {
      description: 'The checklist',
      content: { 'text/csv': { schema: z.string() }, 'text/html': { schema: z.string() } },
    },
    ...problemResponses(401, 403, 422),
  },
})

export type ReportRoute = typeof report
export type ChecklistRoute = typeof checklist
