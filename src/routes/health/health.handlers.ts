import { checkReadiness } from '../../services/platform/health'
import type { AppRouteHandler } from '../router'
import type { LiveRoute, ReadyRoute } from './health.routes'

export const live: AppRouteHandler<LiveRoute> = (c) => c.json({ status: 'ok' as const }, 200)

export const ready: AppRouteHandler<ReadyRoute> = async (c) => {
  const readiness = await checkReadiness(c.env)
  c.header('Cache-Control', 'no-store')
  return readiness.status === 'ok' ? c.json(readiness, 200) : c.json(readiness, 503)
}
