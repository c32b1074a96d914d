import { database } from '../../db/client'
import { standingRuleView, setStandingRule } from '../../services/operations/standing-rule'
import { cancelWindow, changeWindow, listWindows, scheduleWindow } from '../../services/operations/windows'
import { actorOf, defer, requestMeta } from '../context'
import type { AppRouteHandler } from '../router'
import type { CreateRoute, GetRuleRoute, ListRoute, PatchRoute, PutRuleRoute, RemoveRoute } from './ops-maintenance-windows.routes'

export const list: AppRouteHandler<ListRoute> = async (c) => c.json(await listWindows(database(c.env), c.req.valid('query')), 200)

export const create: AppRouteHandler<CreateRoute> = async (c) =>
  c.json(await scheduleWindow(c.env, database(c.env), c.req.valid('json'), actorOf(c), requestMeta(c), defer(c)), 201)

export const patch: AppRouteHandler<PatchRoute> = async (c) =>
  c.json(await changeWindow(c.env, database(c.env), c.req.valid('param').id, c.req.valid('json'), actorOf(c), requestMeta(c), defer(c)), 200)

export const remove: AppRouteHandler<RemoveRoute> = async (c) =>
  c.json(await cancelWindow(c.env, database(c.env), c.req.valid('param').id, actorOf(c), requestMeta(c), defer(c)), 200)

export const getRule: AppRouteHandler<GetRuleRoute> = async (c) => c.json(await standingRuleView(database(c.env)), 200)

export const putRule: AppRouteHandler<PutRuleRoute> = async (c) =>
  c.json(await setStandingRule(c.env, database(c.env), c.req.valid('json'), actorOf(c), requestMeta(c)), 200)
