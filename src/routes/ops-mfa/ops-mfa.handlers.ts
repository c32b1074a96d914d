import { database } from '../../db/client'
import { confirmOperatorTotp, startOperatorTotp } from '../../services/identity/operator-self'
import { requestMeta } from '../context'
import type { AppRouteHandler } from '../router'
import type { ConfirmTotpRoute, StartTotpRoute } from './ops-mfa.routes'

export const startTotp: AppRouteHandler<StartTotpRoute> = async (c) => {
  c.header('Cache-Control', 'no-store')
  return c.json(await startOperatorTotp(c.env, database(c.env), c.var.principal, c.req.valid('json').current_password, requestMeta(c)), 200)
}

export const confirmTotp: AppRouteHandler<ConfirmTotpRoute> = async (c) => {
  c.header('Cache-Control', 'no-store')
  return c.json(await confirmOperatorTotp(c.env, database(c.env), c.var.principal, c.req.valid('json').code, requestMeta(c)), 200)
}
