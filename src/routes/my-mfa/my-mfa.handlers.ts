import { database } from '../../db/client'
import { addEmailFactor, finishTotp, mailFactorChangeCode, removeMyFactors, startTotp as begin } from '../../services/identity/my-factors'
import { defer, requestMeta } from '../context'
import type { AppRouteHandler } from '../router'
import type { AddEmailRoute, ConfirmTotpRoute, MailCodeRoute, RemoveRoute, StartTotpRoute } from './my-mfa.routes'

export const addEmail: AppRouteHandler<AddEmailRoute> = async (c) =>
  c.json(await addEmailFactor(c.env, database(c.env), c.var.principal, c.req.valid('json').current_password, requestMeta(c)), 200)

export const startTotp: AppRouteHandler<StartTotpRoute> = async (c) => {
  c.header('Cache-Control', 'no-store')
  return c.json(await begin(c.env, database(c.env), c.var.principal, c.req.valid('json'), requestMeta(c)), 200)
}

export const confirmTotp: AppRouteHandler<ConfirmTotpRoute> = async (c) => {
  c.header('Cache-Control', 'no-store')
  return c.json(await finishTotp(c.env, database(c.env), c.var.principal, c.req.valid('json').code, requestMeta(c)), 200)
}

export const remove: AppRouteHandler<RemoveRoute> = async (c) => {
  await removeMyFactors(c.env, database(c.env), c.var.principal, c.req.valid('json'), requestMeta(c))
  return c.body(null, 204)
}

export const mailCode: AppRouteHandler<MailCodeRoute> = async (c) =>
  c.json(await mailFactorChangeCode(c.env, database(c.env), c.var.principal, requestMeta(c), defer(c)), 200)
