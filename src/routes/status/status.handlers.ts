import { database } from '../../db/client'
import { prefersHtml } from '../../lib/accept'
import { serviceStatus } from '../../services/operations/status'
import type { AppRouteHandler } from '../router'
import { renderStatusPage } from './status.page'
import type { StatusRoute } from './status.routes'

export const status: AppRouteHandler<StatusRoute> = async (c) => {
  const snapshot = await serviceStatus(c.env, database(c.env))
  c.header('Vary', 'Accept')
  c.header('Cache-Control', 'public, max-age=15')
  if (prefersHtml(c.req.header('Accept'))) return c.html(await renderStatusPage(snapshot), 200)
  return c.json(snapshot, 200)
}
