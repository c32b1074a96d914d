import { database } from '../../db/client'
import { bearerToken } from '../../lib/bearer'
import { LEAKED_CREDENTIAL_HEADER, leakedPasswordSignal } from '../../services/abuse/leaked-credential'
import { bootstrapOperator, completeOperatorMfa, operatorSignIn } from '../../services/identity/operators'
import { changeOperatorPassword } from '../../services/identity/operator-self'
import { signOut } from '../../services/identity/sign-out'
import { defer, requestMeta, requestSource } from '../context'
import type { AppRouteHandler } from '../router'
import type { BootstrapRoute, LoginRoute, LogoutRoute, MfaRoute, PasswordRoute } from './ops-auth.routes'

export const bootstrap: AppRouteHandler<BootstrapRoute> = async (c) => {
  const presented = bearerToken(c.req.header('Authorization'))
  const operator = await bootstrapOperator(c.env, database(c.env), presented, c.req.valid('json'), requestMeta(c), defer(c))
  return c.json(operator, 201)
}

export const login: AppRouteHandler<LoginRoute> = async (c) => {
  c.header('Cache-Control', 'no-store')
  const signals = { leakedPassword: leakedPasswordSignal(c.req.header(LEAKED_CREDENTIAL_HEADER)) }
  return c.json(await operatorSignIn(c.env, database(c.env), c.req.valid('json'), requestSource(c), requestMeta(c), defer(c), signals), 200)
}

export const mfa: AppRouteHandler<MfaRoute> = async (c) => {
  c.header('Cache-Control', 'no-store')
  return c.json(await completeOperatorMfa(c.env, database(c.env), c.req.valid('json'), requestSource(c), requestMeta(c), defer(c)), 200)
}

export const logout: AppRouteHandler<LogoutRoute> = async (c) => {
  await signOut(c.env, c.var.principal, requestMeta(c))
  return c.body(null, 204)
}

export const password: AppRouteHandler<PasswordRoute> = async (c) => {
  c.header('Cache-Control', 'no-store')
  return c.json(await changeOperatorPassword(c.env, database(c.env), c.var.principal, c.req.valid('json'), requestMeta(c)), 200)
}
