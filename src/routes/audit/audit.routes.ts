import { z } from '@hono/zod-openapi'
import { jsonResponse, problemResponses } from '../../lib/openapi'
import { AuditFilterSchema, AuditPageSchema, ChainVerificationSchema } from '../../schemas/audit'
import { ListQuerySchema } from '../../schemas/common'
import { defineRoute } from '../router'

const access = { audience: 'tenant', permission: 'audit:read' } as const
const tags = ['Audit']

export const list = defineRoute(access, {
  method: 'get',
  path: '/api/v1/audit',
  tags,
  summary: 'Search this tenant\u2019s audit trail, newest first',
  request: { query: ListQuerySchema.extend(AuditFilterSchema.shape) },
  responses: { 200: jsonResponse(AuditPageSchema, 'A page of events'), ...problemResponses(401, 403, 422) },
})

export const exportAll = defineRoute(access, {
  method: 'get',
  path: '/api/v1/audit/export',
  tags,
  summary: 'Download the audit trail (NDJSON or CSV), with the same filters; e.g. category=data_extraction (GE-5)',
  description: 'Every matching event, newest first, streamed. The export itself is audited as a data extraction.',
  request: { query: AuditFilterSchema.extend({ format: z.enum(['ndjson', 'csv']).default('ndjson') }) },
  responses: {
    200: {
      description: 'The events',
      content: { 'application/x-ndjson': { schema: z.string() }, 'text/csv': { schema: z.string() } },
    },
    ...problemResponses(401, 403, 422),
  },
})

export const verify = defineRoute(access, {
  method: 'get',
  path: '/api/v1/audit/verify',
  tags,
  summary: 'Re-check this tenant\u2019s hash chain from its first event',
  responses: { 200: jsonResponse(ChainVerificationSchema, 'The verification result'), ...problemResponses(401, 403) },
})

export type ListRoute = typeof list
export type VerifyRoute = typeof verify
export type ExportRoute = typeof exportAll
