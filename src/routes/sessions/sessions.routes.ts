import { z } from '@hono/zod-openapi'
import { jsonResponse, problemResponses } from '../../lib/openapi'
import { IdParamSchema, ListQuerySchema, paginated } from '../../schemas/common'
import { defineRoute } from '../router'

const access = { audience: 'tenant' } as const
const tags = ['Sessions']

export const SessionSchema = z
  .object({
    id: z.string(),
    user_id: z.string(),
    kind: z.enum(['full', 'password_change']),
    current: z.boolean().openapi({ description: 'The session making this request.' }),
    created_at: z.string(),
    last_seen_at: z.string(),
    expires_at: z.string(),
    ip: z.string().nullable(),
    user_agent: z.string().nullable(),
  })
  .openapi('Session')

export const list = defineRoute(access, {
  method: 'get',
  path: '/api/v1/sessions',
  tags,
  summary: 'Live sessions, newest first: an admin sees the tenant\u2019s, everyone else their own',
  request: { query: ListQuerySchema },
  responses: { 200: jsonResponse(paginated(SessionSchema, 'SessionPage'), 'A page of sessions'), ...problemResponses(401, 403, 422) },
})

export const remove = defineRoute(access, {
  method: 'delete',
  path: '/api/v1/sessions/{id}',
  tags,
  summary: 'End a session (admins: any of the tenant\u2019s; others: their own)',
  request: { params: IdParamSchema },
  responses: { 204: { description: 'Ended' }, ...problemResponses(401, 403, 404) },
})

export type ListRoute = typeof list
export type RemoveRoute = typeof remove
