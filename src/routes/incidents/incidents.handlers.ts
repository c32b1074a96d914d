import { database } from '../../db/client'
import { listTenantIncidents } from '../../services/operations/incidents'
import type { AppRouteHandler } from '../router'
import type { ListRoute } from './incidents.routes'

export const list: AppRouteHandler<ListRoute> = async (c) =>
  c.json(await listTenantIncidents(database(c.env), c.var.principal.tenantId!, c.req.valid('query')), 200)
