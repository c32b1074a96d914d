import { z } from '@hono/zod-openapi'
import { jsonBody, jsonResponse, problemResponses } from '../../lib/openapi'
import { idParam } from '../../schemas/common'
import { IncidentCreateSchema, IncidentListQuerySchema, IncidentPageSchema, IncidentPatchSchema, IncidentSchema } from '../../schemas/operations'
import { defineRoute } from '../router'

const access = { audience: 'operator' } as const
const tags = ['Operators: incidents']

export const list = defineRoute(access, {
  method: 'get',
  path: '/ops/v1/incidents',
  tags,
  summary: 'Incidents, newest first, with their timelines',
  request: { query: IncidentListQuerySchema },
  responses: { 200: jsonResponse(IncidentPageSchema, 'A page of incidents') },
})

export const create = defineRoute(access, {
  method: 'post',
  path: '/ops/v1/incidents',
  tags,
  summary: 'Open an incident; every affected tenant\u2019s contact and admins are mailed at once',
  description: 'Without `tenant_ids` it concerns every tenant. Unknown `tenant_ids` answer 422.',
  request: { body: jsonBody(IncidentCreateSchema) },
  responses: { 201: jsonResponse(IncidentSchema, 'Opened') },
})

export const patch = defineRoute(access, {
  method: 'patch',
  path: '/ops/v1/incidents/{id}',
  tags,
  summary: 'Add an update and/or resolve; each is mailed to the affected tenants',
  description: '409 `incident-resolved` for `investigating` on a resolved incident (open a new one for a recurrence).',
  request: { params: z.object({ id: idParam('id', 'inc_01hx0000000000000000000000') }), body: jsonBody(IncidentPatchSchema) },
  responses: { 200: jsonResponse(IncidentSchema, 'The incident'), ...problemResponses(404, 409) },
})

export type ListRoute = typeof list
export type CreateRoute = typeof create
export type PatchRoute = typeof patch
