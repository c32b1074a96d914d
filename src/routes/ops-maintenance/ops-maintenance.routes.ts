import { jsonBody, jsonResponse, problemResponses } from '../../lib/openapi'
import { MaintenanceFlagSchema, MaintenanceOverviewSchema, MaintenancePutSchema } from '../../schemas/maintenance'
import { defineRoute } from '../router'

const access = { audience: 'operator' } as const
const tags = ['Operators: maintenance']

export const get = defineRoute(access, {
  method: 'get',
  path: '/ops/v1/maintenance',
  tags,
  summary: 'The global maintenance flag, every tenant flag in force, and the windows in force',
  responses: { 200: jsonResponse(MaintenanceOverviewSchema, 'Maintenance now') },
})

export const put = defineRoute(access, {
  method: 'put',
  path: '/ops/v1/maintenance',
  tags,
  summary: 'Turn maintenance on or off, for every tenant or for one (audited)',
  description:
    'While a flag is on, the tenant API (`/api/v1/…`, sign-in and MFA included) answers 503 `maintenance` with `Retry-After` and the message ' +
    '(a small HTML page when the client prefers `text/html`); health, `/status`, `/help`, the documents and operator routes keep working. ' +
    'Takes effect on the next request in the same location and within 2 s everywhere. `until` ends it by itself. An unknown `tenant_id` answers 404.',
  request: { body: jsonBody(MaintenancePutSchema) },
  responses: { 200: jsonResponse(MaintenanceFlagSchema, 'The flag as it now stands'), ...problemResponses(404) },
})

export type GetRoute = typeof get
export type PutRoute = typeof put
