import { database } from '../../db/client'
import { rotateMasterKey } from '../../services/keys/rotation'
import { actorOf, requestMeta } from '../context'
import type { AppRouteHandler } from '../router'
import type { RotateRoute } from './ops-keys.routes'

export const rotate: AppRouteHandler<RotateRoute> = async (c) => {
  const { limit } = c.req.valid('query')
  return c.json(await rotateMasterKey(c.env, database(c.env), actorOf(c), requestMeta(c), limit), 200)
}
