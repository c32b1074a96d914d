import { z } from '@hono/zod-openapi'
import { jsonResponse, problemResponses } from '../../lib/openapi'
import { AuditFilterSchema, AuditPageSchema, ChainVerificationSchema, VerifyQuerySchema } from '../../schemas/audit'
import { ListQuerySchema } from '../../schemas/common'
import { defineRoute } from '../router'

const operator = { audience: 'operator' } as const
const tags = ['Operators: audit']

/** `tenant_id` of GET /ops/v1/audit (the operator console's filter too). */
export const AuditTenantFilterSchema = z.string().max(64).optional().openapi({ description: 'Only this tenant\u2019s events.' })

export const list = defineRoute(operator, {
  method: 'get',
  path: '/ops/v1/audit',
  tags,
  summary: 'Search every chain (platform and tenants), newest first',
  description:
    'The `details` of events by a tenant\u2019s own people are withheld unless the tenant grants support access at the time (SE-26); actor, action, target, time, source and outcome stay visible, and operators\u2019 own actions stay whole.',
  request: {
    query: ListQuerySchema.extend(AuditFilterSchema.shape).extend({
      tenant_id: AuditTenantFilterSchema,
    }),
  },
  responses: { 200: jsonResponse(AuditPageSchema, 'A page of events'), ...problemResponses(401, 422) },
})

export const verify = defineRoute(operator, {
  method: 'get',
  path: '/ops/v1/audit/verify',
  tags,
  summary: 'Check one hash chain (a tenant id, or `platform`): what is new since the last verified checkpoint, or everything with full=true',
  description:
    'A check that cannot finish within one call answers `complete: false` and keeps its progress; call again to go on.',
  request: {
    query: VerifyQuerySchema.extend({
      chain: z
        .string()
        .regex(/^(platform|tn_[0-9a-hjkmnp-tv-z]{26})$/, 'A tenant id or "platform".')
        .openapi({ example: 'platform' }),
    }),
  },
  responses: { 200: jsonResponse(ChainVerificationSchema, 'The verification result'), ...problemResponses(401, 422) },
})

export type ListRoute = typeof list
export type VerifyRoute = typeof verify
