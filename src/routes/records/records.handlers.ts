import { database } from '../../db/client'
import { createRecord, deleteRecord, getRecord, listRecords, updateRecord } from '../../services/data/records'
import { requestMeta, tenantCaller } from '../context'
import type { AppRouteHandler } from '../router'
import type { CreateRoute, GetOneRoute, ListRoute, RemoveRoute, UpdateRoute } from './records.routes'

export const list: AppRouteHandler<ListRoute> = async (c) =>
  c.json(await listRecords(database(c.env), c.var.principal.tenantId!, c.req.valid('query')), 200)

export const create: AppRouteHandler<CreateRoute> = async (c) =>
  c.json(await createRecord(c.env, database(c.env), tenantCaller(c), c.req.valid('json'), requestMeta(c)), 201)

export const getOne: AppRouteHandler<GetOneRoute> = async (c) =>
  c.json(await getRecord(database(c.env), c.var.principal.tenantId!, c.req.valid('param').id), 200)

export const update: AppRouteHandler<UpdateRoute> = async (c) => {
  const record = await updateRecord(
    c.env,
    database(c.env),
    tenantCaller(c),
    c.req.valid('param').id,
    c.req.valid('json'),
    requestMeta(c),
  )
  return c.json(record, 200)
}

export const remove: AppRouteHandler<RemoveRoute> = async (c) => {
  await deleteRecord(c.env, database(c.env), tenantCaller(c), c.req.valid('param').id, requestMeta(c))
  return c.body(null, 204)
}
