import { z } from '@hono/zod-openapi'
import { jsonBody, jsonResponse, problemResponses } from '../../lib/openapi'
import { SUPPORT_MAX_HOURS } from '../../services/tenancy/support'
import { defineRoute } from '../router'

const admin = { audience: 'tenant', role: 'admin' } as const
const tags = ['Support access']

export const SupportAccessSchema = z
  .object({
    granted: z.boolean(),
    granted_by: z.string().nullable(),
    granted_at: z.string().nullable(),
    expires_at: z.string().nullable(),
  })
  .openapi('SupportAccess')

export const SupportGrantSchema = z
  .strictObject({ hours: z.number().int().min(1).max(SUPPORT_MAX_HOURS, `At most ${SUPPORT_MAX_HOURS} hours.`) })
  .openapi('SupportGrant')

export const status = defineRoute(admin, {
  method: 'get',
  path: '/api/v1/support-access',
  tags,
  summary: 'Whether operators may read this tenant\u2019s data now, and until when',
  responses: { 200: jsonResponse(SupportAccessSchema, 'The grant in force, if any'), ...problemResponses(401, 403) },
})

export const grant = defineRoute(admin, {
  method: 'post',
  path: '/api/v1/support-access',
  tags,
  summary: 'Let operators read this tenant\u2019s records and files for N hours (at most 72); every read is audited here',
  request: {
    body: jsonBody(SupportGrantSchema),
  },
  responses: { 200: jsonResponse(SupportAccessSchema, 'Granted'), ...problemResponses(400, 401, 403, 415, 422) },
})

export const revoke = defineRoute(admin, {
  method: 'delete',
  path: '/api/v1/support-access',
  tags,
  summary: 'End support access now',
  responses: { 204: { description: 'Ended' }, ...problemResponses(401, 403) },
})

export type StatusRoute = typeof status
export type GrantRoute = typeof grant
export type RevokeRoute = typeof revoke
