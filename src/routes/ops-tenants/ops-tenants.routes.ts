import { z } from '@hono/zod-openapi'
import { jsonBody, jsonResponse, problemResponses } from '../../lib/openapi'
import { IdParamSchema, ListQuerySchema, idParam, paginated } from '../../schemas/common'
import { PlanSchema, TenantCreateSchema, TenantCreatedSchema, TenantPatchSchema, TenantSchema } from '../../schemas/tenants'
import { ErasureCertificateSchema, ErasureProgressSchema } from '../../schemas/erasure'
import { UsageSchema } from '../../schemas/usage'
import { ResetResultSchema } from '../../schemas/users'
import { defineRoute } from '../router'

const operator = { audience: 'operator' } as const
const tags = ['Operators: tenants']

export const listPlans = defineRoute(operator, {
  method: 'get',
  path: '/ops/v1/plans',
  tags,
  summary: 'The plans and their limits',
  responses: { 200: jsonResponse(z.object({ items: z.array(PlanSchema), next_cursor: z.null() }), 'All plans (one page)'), ...problemResponses(401) },
})

export const list = defineRoute(operator, {
  method: 'get',
  path: '/ops/v1/tenants',
  tags,
  summary: 'List tenants, newest first',
  request: { query: ListQuerySchema },
  responses: { 200: jsonResponse(paginated(TenantSchema, 'TenantPage'), 'A page of tenants'), ...problemResponses(401, 422) },
})

export const create = defineRoute(operator, {
  method: 'post',
  path: '/ops/v1/tenants',
  tags,
  summary: 'Create a tenant and its first admin (temporary password returned once)',
  request: { body: jsonBody(TenantCreateSchema) },
  responses: {
    201: jsonResponse(TenantCreatedSchema, 'Created'),
    ...problemResponses(400, 401, 409, 413, 415, 422),
  },
})

export const getOne = defineRoute(operator, {
  method: 'get',
  path: '/ops/v1/tenants/{id}',
  tags,
  summary: 'One tenant',
  request: { params: IdParamSchema },
  responses: { 200: jsonResponse(TenantSchema, 'The tenant'), ...problemResponses(401, 404) },
})

export const patch = defineRoute(operator, {
  method: 'patch',
  path: '/ops/v1/tenants/{id}',
  tags,
  summary: 'Change name, plan, status, contact or per-contract limits; suspension ends every session',
  description:
    '`limits` overrides the plan\u2019s limits for this tenant ("per contract"): each a non-negative integer, or null to return to the plan\u2019s. ' +
    'Seats, sessions, storage and request limits are checked against the limits in force from the next request on. Audited with each old and new value.',
  request: { params: IdParamSchema, body: jsonBody(TenantPatchSchema) },
  responses: { 200: jsonResponse(TenantSchema, 'The changed tenant'), ...problemResponses(400, 401, 404, 413, 415, 422) },
})

export const usage = defineRoute(operator, {
  method: 'get',
  path: '/ops/v1/tenants/{id}/usage',
  tags,
  summary: 'A tenant\u2019s usage against its limits in force (as GET /api/v1/usage shows it to the tenant\u2019s admins)',
  request: { params: IdParamSchema },
  responses: { 200: jsonResponse(UsageSchema, 'The usage'), ...problemResponses(401, 404) },
})

export const resetAdminPassword = defineRoute(operator, {
  method: 'post',
  path: '/ops/v1/tenants/{id}/users/{userId}/reset-password',
  tags,
  summary: 'Force a password reset for one of the tenant’s admins (SE-14)',
  description: 'Operators may reset tenant admins only; any other account answers 404.',
  request: {
    params: IdParamSchema.extend({ userId: idParam('userId', 'usr_01hx0000000000000000000000') }),
  },
  responses: { 200: jsonResponse(ResetResultSchema, 'Reset'), ...problemResponses(401, 404) },
})

export const remove = defineRoute(operator, {
  method: 'delete',
  path: '/ops/v1/tenants/{id}',
  tags,
  summary: 'Terminate a tenant: erase all its data and sign an erasure certificate (DM-7, SE-37)',
  description:
    'Suspends the tenant and erases, in order: its session stores, its accounts\u2019 throttle counters, its file objects, its backup objects, ' +
    'every row of it in every tenant table (the audit trail last, after its final head is read), its audit chain\u2019s sequencer, then its key. ' +
    'Audited in the operators\u2019 log (`tenant.terminate`, then `tenant.erased`). 200 with the certificate when done within this call; ' +
    '202 with the progress when the tenant is too large for one call (the five-minute job finishes it, and a later DELETE goes on too). ' +
    'Once finished, DELETE answers the same certificate again. 503 `erasure-signing-key-missing` (nothing erased) when no signing key is configured.',
  request: { params: IdParamSchema },
  responses: {
    200: jsonResponse(ErasureCertificateSchema, 'Erased: the signed certificate'),
    202: jsonResponse(ErasureProgressSchema, 'Erasure under way'),
    ...problemResponses(401, 404, 503),
  },
})

export const certificate = defineRoute(operator, {
  method: 'get',
  path: '/ops/v1/tenants/{id}/certificate',
  tags,
  summary: 'The erasure certificate of a terminated tenant (404 until the erasure finished)',
  request: { params: IdParamSchema },
  responses: { 200: jsonResponse(ErasureCertificateSchema, 'The certificate'), ...problemResponses(401, 404) },
})

export type RemoveRoute = typeof remove
export type CertificateRoute = typeof certificate
export type ListPlansRoute = typeof listPlans
export type ListRoute = typeof list
export type CreateRoute = typeof create
export type GetOneRoute = typeof getOne
export type PatchRoute = typeof patch
export type ResetAdminPasswordRoute = typeof resetAdminPassword
export type UsageRoute = typeof usage
