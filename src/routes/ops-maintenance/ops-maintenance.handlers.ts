import { database } from '../../db/client'
import { maintenanceOverview, setMaintenanceFlag } from '../../services/operations/maintenance-flags'
import { actorOf, requestMeta } from '../context'
import type { AppRouteHandler } from '../router'
import type { GetRoute, PutRoute } from './ops-maintenance.routes'

export const get: AppRouteHandler<GetRoute> = async (c) => c.json(await maintenanceOverview(c.env, database(c.env)), 200)

export const put: AppRouteHandler<PutRoute> = async (c) =>
  c.json(await setMaintenanceFlag(c.env, database(c.env), c.req.valid('json'), actorOf(c), requestMeta(c)), 200)
