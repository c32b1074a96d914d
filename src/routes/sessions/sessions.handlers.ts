import { listSessions, revokeSession } from '../../services/identity/session-admin'
import { requestMeta } from '../context'
import type { AppRouteHandler } from '../router'
import type { ListRoute, RemoveRoute } from './sessions.routes'

export const list: AppRouteHandler<ListRoute> = async (c) => {
  const { limit, cursor } = c.req.valid('query')
  return c.json(await listSessions(c.env, c.var.principal, limit, cursor), 200)
}

export const remove: AppRouteHandler<RemoveRoute> = async (c) => {
  await revokeSession(c.env, c.var.principal, c.req.valid('param').id, requestMeta(c))
  return c.body(null, 204)
}
