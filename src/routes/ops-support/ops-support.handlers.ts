import { database } from '../../db/client'
import { listFiles } from '../../services/data/files'
import { listRecords } from '../../services/data/records'
import { recordSupportRead } from '../../services/tenancy/support'
import { getTenant } from '../../services/tenancy/tenants'
import { actorOf, requestMeta } from '../context'
import type { AppRouteHandler } from '../router'
import type { FilesRoute, RecordsRoute } from './ops-support.routes'

export const records: AppRouteHandler<RecordsRoute> = async (c) => {
  const db = database(c.env)
  const tenant = await getTenant(db, c.req.valid('param').id)
  const query = c.req.valid('query')
  await recordSupportRead(c.env, db, tenant.id, 'records', actorOf(c), requestMeta(c))
  return c.json(await listRecords(db, tenant.id, query), 200)
}

export const files: AppRouteHandler<FilesRoute> = async (c) => {
  const db = database(c.env)
  const tenant = await getTenant(db, c.req.valid('param').id)
  const { limit, cursor } = c.req.valid('query')
  await recordSupportRead(c.env, db, tenant.id, 'files', actorOf(c), requestMeta(c))
  return c.json(await listFiles(db, tenant.id, limit, cursor), 200)
}
