import { database } from '../../db/client'
import { getTenantSettings, updateTenantSettings } from '../../services/tenancy/tenant-settings'
import { actorOf, requestMeta } from '../context'
import type { AppRouteHandler } from '../router'
import type { GetOneRoute, PatchRoute } from './tenant.routes'

export const getOne: AppRouteHandler<GetOneRoute> = async (c) => c.json(await getTenantSettings(database(c.env), c.var.principal.tenantId!), 200)

export const patch: AppRouteHandler<PatchRoute> = async (c) =>
  c.json(await updateTenantSettings(c.env, database(c.env), c.var.principal.tenantId!, c.req.valid('json'), actorOf(c), requestMeta(c)), 200)
