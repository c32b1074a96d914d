import { jsonBody, jsonResponse, problemResponses } from '../../lib/openapi'
import { PolicySchema, PolicyUpdateSchema } from '../../schemas/policy'
import { defineRoute } from '../router'

const access = { audience: 'tenant', role: 'admin' } as const
const tags = ['Policy']

export const getOne = defineRoute(access, {
  method: 'get',
  path: '/api/v1/policy',
  tags,
  summary: 'The tenant\u2019s security policy in force',
  responses: { 200: jsonResponse(PolicySchema, 'The policy'), ...problemResponses(401, 403) },
})

export const update = defineRoute(access, {
  method: 'put',
  path: '/api/v1/policy',
  tags,
  summary: 'Change the policy (only ever stricter than the platform)',
  description:
    'Send any subset of fields; the rest keep their values. A value looser than the platform minimum is 422 naming the field. A change that would reject your own current request (IP allowlist, client certificate) is 422 and not saved. Concurrent updates are merged one after another; one that keeps losing that race is 409 `edit-conflict` and not saved.',
  request: { body: jsonBody(PolicyUpdateSchema) },
  responses: { 200: jsonResponse(PolicySchema, 'The new policy'), ...problemResponses(400, 401, 403, 409, 413, 415, 422) },
})

export type GetOneRoute = typeof getOne
export type UpdateRoute = typeof update
