import { database } from '../../db/client'
import { listBackups } from '../../services/backup/catalogue'
import { tenantCaller } from '../context'
import type { AppRouteHandler } from '../router'
import type { ListRoute } from './backups.routes'

export const list: AppRouteHandler<ListRoute> = async (c) => {
  const { limit, cursor } = c.req.valid('query')
  const page = await listBackups(database(c.env), { tenantId: tenantCaller(c).tenantId, limit, cursor })
  // Failure reasons are for operators; the tenant sees the status and the verification.
  return c.json({ items: page.items.map(({ error: _error, ...rest }) => rest), next_cursor: page.next_cursor }, 200)
}
