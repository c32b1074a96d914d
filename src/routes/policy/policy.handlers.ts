import { database } from '../../db/client'
import { getPolicy, updatePolicy } from '../../services/policy/policy'
import { requestMeta, requestSource } from '../context'
import type { AppRouteHandler } from '../router'
import type { GetOneRoute, UpdateRoute } from './policy.routes'

export const getOne: AppRouteHandler<GetOneRoute> = async (c) =>
  c.json(await getPolicy(database(c.env), c.var.principal.tenantId!), 200)

export const update: AppRouteHandler<UpdateRoute> = async (c) => {
  const policy = await updatePolicy(c.env, database(c.env), c.var.principal, c.req.valid('json'), requestSource(c), requestMeta(c))
  return c.json(policy, 200)
}
