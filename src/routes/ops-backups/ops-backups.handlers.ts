import { database } from '../../db/client'
import { jstDate } from '../../lib/time'
import { listBackups, verifyBackup } from '../../services/backup/catalogue'
import { recordRequested, startAllSnapshots, startTenantSnapshot } from '../../services/backup/fan-out'
import { restoreBackup } from '../../services/backup/restore'
import { actorOf, requestMeta } from '../context'
import type { AppRouteHandler } from '../router'
import type { CreateRoute, ListRoute, RestoreRoute, VerifyRoute } from './ops-backups.routes'

export const list: AppRouteHandler<ListRoute> = async (c) => {
  const query = c.req.valid('query')
  return c.json(await listBackups(database(c.env), { tenantId: query.tenant_id, limit: query.limit, cursor: query.cursor }), 200)
}

export const create: AppRouteHandler<CreateRoute> = async (c) => {
  const { tenant_id } = c.req.valid('json')
  const date = jstDate()
  const result = tenant_id ? await startTenantSnapshot(c.env, tenant_id, date) : { ...(await startAllSnapshots(c.env, date)), instance_ids: [] }
  await recordRequested(c.env, requestMeta(c), actorOf(c), result, tenant_id ?? null)
  return c.json(result, 202)
}

export const verify: AppRouteHandler<VerifyRoute> = async (c) => c.json(await verifyBackup(c.env, c.req.valid('param').id, actorOf(c), requestMeta(c)), 200)

export const restore: AppRouteHandler<RestoreRoute> = async (c) =>
  c.json(await restoreBackup(c.env, c.req.valid('param').id, c.req.valid('json'), actorOf(c), requestMeta(c)), 200)
