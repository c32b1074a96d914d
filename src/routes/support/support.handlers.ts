import { database } from '../../db/client'
import { grantSupportAccess, revokeSupportAccess, supportAccess } from '../../services/tenancy/support'
import { actorOf, requestMeta } from '../context'
import type { AppRouteHandler } from '../router'
import type { GrantRoute, RevokeRoute, StatusRoute } from './support.routes'

export const status: AppRouteHandler<StatusRoute> = async (c) =>
  c.json(await supportAccess(database(c.env), c.var.principal.tenantId!), 200)

export const grant: AppRouteHandler<GrantRoute> = async (c) => {
  const access = await grantSupportAccess(c.env, database(c.env), c.var.principal.tenantId!, c.req.valid('json').hours, actorOf(c), requestMeta(c))
  return c.json(access, 200)
}

export const revoke: AppRouteHandler<RevokeRoute> = async (c) => {
  await revokeSupportAccess(c.env, database(c.env), c.var.principal.tenantId!, actorOf(c), requestMeta(c))
  return c.body(null, 204)
}
