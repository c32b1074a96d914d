import { database } from '../../db/client'
import { serviceStatus } from '../../services/operations/status'
import type { AppRouteHandler } from '../router'
import { renderStatusPage } from './status.page'
import type { StatusRoute } from './status.routes'

/** The q-value an Accept header gives a media type: its exact entry, else the best wildcard covering it, else 0. */
function quality(accept: string, type: string, wildcards = true) {
  let exact: number | null = null
  let wild = 0
  for (const part of accept.split(',')) {
    const [range, ...params] = part.trim().toLowerCase().split(';')
    const q = Number(params.map((p) => p.trim()).find((p) => p.startsWith('q='))?.slice(2) ?? 1)
    const value = Number.isFinite(q) ? q : 0
    if (range === type) exact = Math.max(exact ?? 0, value)
    else if (wildcards && (range === '*/*' || range === `${type.split('/')[0]}/*`)) wild = Math.max(wild, value)
  }
  return exact ?? wild
}

/** HTML only for a client that names it and likes it better than JSON (a browser); a bare wildcard (curl, scripts) gets JSON. */
function prefersHtml(accept: string | undefined) {
  return accept ? quality(accept, 'text/html', false) > quality(accept, 'application/json') : false
}

export const status: AppRouteHandler<StatusRoute> = async (c) => {
  const snapshot = await serviceStatus(c.env, database(c.env))
  c.header('Vary', 'Accept')
  c.header('Cache-Control', 'public, max-age=15')
  if (prefersHtml(c.req.header('Accept'))) return c.html(await renderStatusPage(snapshot), 200)
  return c.json(snapshot, 200)
}
