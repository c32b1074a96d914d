import { jsonResponse, problemResponses } from '../../lib/openapi'
import { AuditEventSchema, AuditFilterSchema, ChainVerificationSchema } from '../../schemas/audit'
import { ListQuerySchema, paginated } from '../../schemas/common'
import { defineRoute } from '../router'

const access = { audience: 'tenant', permission: 'audit:read' } as const
const tags = ['Audit']

export const AuditPageSchema = paginated(AuditEventSchema, 'AuditEventPage')

export const list = defineRoute(access, {
  method: 'get',
  path: '/api/v1/audit',
  tags,
  summary: 'Search this tenant\u2019s audit trail, newest first',
  request: { query: ListQuerySchema.extend(AuditFilterSchema.shape) },
  responses: { 200: jsonResponse(AuditPageSchema, 'A page of events'), ...problemResponses(401, 403, 422) },
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
