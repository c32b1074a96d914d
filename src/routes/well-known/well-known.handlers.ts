import { erasureJwks } from '../../services/tenancy/erasure-certificate'
import type { AppRouteHandler } from '../router'
import type { JwksRoute } from './well-known.routes'

export const jwks: AppRouteHandler<JwksRoute> = async (c) => {
  const set = await erasureJwks(c.env)
  c.header('Cache-Control', 'public, max-age=300')
  return c.json(set, 200)
}
