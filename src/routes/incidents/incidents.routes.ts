import { jsonResponse } from '../../lib/openapi'
import { ListQuerySchema } from '../../schemas/common'
import { TenantIncidentPageSchema } from '../../schemas/operations'
import { defineRoute } from '../router'

export const list = defineRoute(
  { audience: 'tenant', role: 'admin' },
  {
    method: 'get',
    path: '/api/v1/incidents',
    tags: ['Incidents'],
    summary: 'The incidents that affect this tenant, newest first, with their timelines (SE-40)',
    request: { query: ListQuerySchema },
    responses: { 200: jsonResponse(TenantIncidentPageSchema, 'A page of incidents') },
  },
)

export type ListRoute = typeof list
