import { z } from '@hono/zod-openapi'
import { jsonResponse, problemResponses } from '../../lib/openapi'
import { AuditFilterSchema, AuditPageSchema, ChainVerificationSchema, VerifyQuerySchema } from '../../schemas/audit'
import { ListQuerySchema } from '../../schemas/common'
import { EXPORTS_PER_HOUR } from '../../services/usage/export-limit'
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
  description:
    'Every matching event, newest first, streamed. The export itself is audited as a data extraction. One response holds at most ' +
    '200,000 events: when more remain, the response carries `X-Next-Cursor` (and a `Link` with `rel="next"`), and the same request ' +
    'with `cursor` set to it continues with the next older events. Without that header the response holds the whole rest of the trail. ' +
    `At most ${EXPORTS_PER_HOUR} exports per hour per tenant (each part of a long export counts); beyond that 429 \`too-many-requests\` with \`Retry-After\`.`,
  request: {
    query: AuditFilterSchema.extend({
      format: z.enum(['ndjson', 'csv']).default('ndjson'),
      cursor: z.string().max(512).optional().openapi({ description: 'X-Next-Cursor of the previous part of this export.' }),
    }),
  },
  responses: {
    200: {
      description: 'The events (or one part of them, see X-Next-Cursor)',
      headers: {
        'X-Next-Cursor': {
          description: 'Present only when older events remain: pass it as `cursor` to get the next part.',
          schema: { type: 'string' },
        },
        Link: { description: 'The next part\u2019s URL with `rel="next"`, when there is one.', schema: { type: 'string' } },
      },
      content: { 'application/x-ndjson': { schema: z.string() }, 'text/csv': { schema: z.string() } },
    },
    ...problemResponses(401, 403, 422),
  },
})

export const verify = defineRoute(access, {
  method: 'get',
  path: '/api/v1/audit/verify',
  tags,
  summary: 'Check this tenant\u2019s hash chain: what is new since the last verified checkpoint, or everything with full=true',
  description:
    'A check that cannot finish within one call answers `complete: false` and keeps its progress; call again to go on.',
  request: { query: VerifyQuerySchema },
  responses: { 200: jsonResponse(ChainVerificationSchema, 'The verification result'), ...problemResponses(401, 403, 422) },
})

export type ListRoute = typeof list
export type VerifyRoute = typeof verify
export type ExportRoute = typeof exportAll
