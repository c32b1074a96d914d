import { database } from '../../db/client'
import { addEmailFactor, finishTotp, removeMyFactors, startTotp as begin } from '../../services/identity/my-factors'
import { requestMeta } from '../context'
import type { AppRouteHandler } from '../router'
import type { AddEmailRoute, ConfirmTotpRoute, RemoveRoute, StartTotpRoute } from './my-mfa.routes'

export const addEmail: AppRouteHandler<AddEmailRoute> = async (c) =>
  c.json(await addEmailFactor(c.env, database(c.env), c.var.principal, c.req.valid('json').current_password, requestMeta(c)), 200)

export const startTotp: AppRouteHandler<StartTotpRoute> = async (c) => {
  c.header('Cache-Control', 'no-store')
  return c.json(await begin(c.env, database(c.env), c.var.principal, c.req.valid('json').current_password, requestMeta(c)), 200)
}

export const confirmTotp: AppRouteHandler<ConfirmTotpRoute> = async (c) => {
  c.header('Cache-Control', 'no-store')
  return c.json(await finishTotp(c.env, database(c.env), c.var.principal, c.req.valid('json').code, requestMeta(c)), 200)
}

export const remove: AppRouteHandler<RemoveRoute> = async (c) => {
  await removeMyFactors(c.env, database(c.env), c.var.principal, c.req.valid('json').current_password, requestMeta(c))
  return c.body(null, 204)
}
