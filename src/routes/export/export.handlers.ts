import { database } from '../../db/client'
import { exportHeaders, startExport } from '../../services/data/export-request'
import { actorOf, requestMeta } from '../context'
import type { AppRouteHandler } from '../router'
import type { ExportDataRoute } from './export.routes'

export const exportData: AppRouteHandler<ExportDataRoute> = async (c) => {
  const { cursor } = c.req.valid('query')
  const stream = await startExport(c.env, database(c.env), c.var.principal.tenantId!, actorOf(c), requestMeta(c), cursor)
  // The route's typing reads `application/x-ndjson` as JSON and would want c.json(); this body is a stream of JSON lines.
  return c.body(stream, 200, exportHeaders()) as never
}
