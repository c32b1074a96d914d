import { database } from '../../db/client'
import { confirmOperatorTotp, mailOperatorFactorChangeCode, startOperatorTotp } from '../../services/identity/operator-self'
import { defer, requestMeta } from '../context'
import type { AppRouteHandler } from '../router'
import type { ConfirmTotpRoute, MailCodeRoute, StartTotpRoute } from './ops-mfa.routes'

export const startTotp: AppRouteHandler<StartTotpRoute> = async (c) => {
  c.header('Cache-Control', 'no-store')
  return c.json(await startOperatorTotp(c.env, database(c.env), c.var.principal, c.req.valid('json'), requestMeta(c)), 200)
}

export const confirmTotp: AppRouteHandler<ConfirmTotpRoute> = async (c) => {
  c.header('Cache-Control', 'no-store')
  return c.json(await confirmOperatorTotp(c.env, database(c.env), c.var.principal, c.req.valid('json').code, requestMeta(c)), 200)
}

export const mailCode: AppRouteHandler<MailCodeRoute> = async (c) =>
  c.json(await mailOperatorFactorChangeCode(c.env, database(c.env), c.var.principal, requestMeta(c), defer(c)), 200)
