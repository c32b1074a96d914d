import { jsonResponse } from '../../lib/openapi'
import { TenantBackupPageSchema } from '../../schemas/backups'
import { ListQuerySchema } from '../../schemas/common'
import { defineRoute } from '../router'

export const list = defineRoute(
  { audience: 'tenant', role: 'admin' },
  {
    method: 'get',
    path: '/api/v1/backups',
    tags: ['Backups'],
    summary: 'This tenant\u2019s backup generations, newest first, with their last verification (DM-3)',
    request: { query: ListQuerySchema },
    responses: { 200: jsonResponse(TenantBackupPageSchema, 'A page of generations') },
  },
)

export type ListRoute = typeof list
