import { jsonBody, jsonResponse, problemResponses } from '../../lib/openapi'
import { TenantSettingsPatchSchema, TenantSettingsSchema } from '../../schemas/tenants'
import { defineRoute } from '../router'

const tags = ['Tenant']

export const getOne = defineRoute(
  { audience: 'tenant', role: 'admin' },
  {
    method: 'get',
    path: '/api/v1/tenant',
    tags,
    summary: 'This tenant\u2019s own settings',
    responses: { 200: jsonResponse(TenantSettingsSchema, 'The settings'), ...problemResponses(401, 403) },
  },
)

export const patch = defineRoute(
  { audience: 'tenant', role: 'admin' },
  {
    method: 'patch',
    path: '/api/v1/tenant',
    tags,
    summary: 'Change this tenant\u2019s settings: the language of its mail',
    description:
      '`language` (`ja`, the default, or `en`) is what the tenant\u2019s contact address and every account without a language of its own receive. Audited as `tenant.update`.',
    request: { body: jsonBody(TenantSettingsPatchSchema) },
    responses: { 200: jsonResponse(TenantSettingsSchema, 'The settings, as changed'), ...problemResponses(401, 403, 409) },
  },
)

export type GetOneRoute = typeof getOne
export type PatchRoute = typeof patch
