import { database } from '../../db/client'
import { createAnnouncement, listAnnouncements } from '../../services/operations/announcements'
import { actorOf, defer, requestMeta } from '../context'
import type { AppRouteHandler } from '../router'
import type { CreateRoute, ListRoute } from './ops-announcements.routes'

export const list: AppRouteHandler<ListRoute> = async (c) => c.json(await listAnnouncements(database(c.env), c.req.valid('query')), 200)

export const create: AppRouteHandler<CreateRoute> = async (c) =>
  c.json(await createAnnouncement(c.env, database(c.env), c.req.valid('json'), actorOf(c), requestMeta(c), defer(c)), 201)
