import { database } from '../../db/client'
import { usageOf } from '../../services/usage/usage'
import type { AppRouteHandler } from '../router'
import type { GetUsageRoute } from './usage.routes'

export const getUsage: AppRouteHandler<GetUsageRoute> = async (c) =>
  c.json(await usageOf(c.env, database(c.env), c.var.principal.tenantId!), 200)
