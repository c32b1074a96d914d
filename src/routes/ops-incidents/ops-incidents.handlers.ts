import { database } from '../../db/client'
import { listIncidents, openIncident, updateIncident } from '../../services/operations/incidents'
import { actorOf, defer, requestMeta } from '../context'
import type { AppRouteHandler } from '../router'
import type { CreateRoute, ListRoute, PatchRoute } from './ops-incidents.routes'

export const list: AppRouteHandler<ListRoute> = async (c) => c.json(await listIncidents(database(c.env), c.req.valid('query')), 200)

export const create: AppRouteHandler<CreateRoute> = async (c) =>
  c.json(await openIncident(c.env, database(c.env), c.req.valid('json'), actorOf(c), requestMeta(c), { defer: defer(c) }), 201)

export const patch: AppRouteHandler<PatchRoute> = async (c) =>
  c.json(await updateIncident(c.env, database(c.env), c.req.valid('param').id, c.req.valid('json'), actorOf(c), requestMeta(c), defer(c)), 200)
