import { database } from '../../db/client'
import { inviteOperator, listOperators, setOperatorStatus } from '../../services/identity/operator-accounts'
import { defer, requestMeta } from '../context'
import type { AppRouteHandler } from '../router'
import { unlockOperator } from '../../services/identity/operators'
import type { CreateRoute, ListRoute, PatchRoute, UnlockRoute } from './operators.routes'

export const list: AppRouteHandler<ListRoute> = async (c) => {
  const { limit, cursor } = c.req.valid('query')
  return c.json(await listOperators(database(c.env), limit, cursor), 200)
}

export const create: AppRouteHandler<CreateRoute> = async (c) => {
  c.header('Cache-Control', 'no-store')
  return c.json(await inviteOperator(c.env, database(c.env), c.var.principal, c.req.valid('json'), requestMeta(c), defer(c)), 201)
}

export const patch: AppRouteHandler<PatchRoute> = async (c) => {
  const operator = await setOperatorStatus(c.env, database(c.env), c.var.principal, c.req.valid('param').id, c.req.valid('json').status, requestMeta(c))
  return c.json(operator, 200)
}

export const unlock: AppRouteHandler<UnlockRoute> = async (c) =>
  c.json(await unlockOperator(c.env, database(c.env), c.var.principal, c.req.valid('param').id, requestMeta(c)), 200)
