import { database } from '../../db/client'
import { me as whoAmI, updateMe } from '../../services/identity/me'
import { changePassword as change } from '../../services/passwords/password-change'
import { signOut } from '../../services/identity/sign-out'
import { completeTenantMfa, tenantSignIn } from '../../services/identity/tenant-auth'
import { defer, requestMeta, requestSource } from '../context'
import type { AppRouteHandler } from '../router'
import { LEAKED_CREDENTIAL_HEADER, leakedPasswordSignal } from '../../services/abuse/leaked-credential'
import { confirmPasswordReset, requestPasswordReset } from '../../services/passwords/password-reset-self'
import type { ChangePasswordRoute, ConfirmResetRoute, LoginRoute, LogoutRoute, MeRoute, MfaRoute, PatchMeRoute, RequestResetRoute } from './auth.routes'

export const login: AppRouteHandler<LoginRoute> = async (c) => {
  c.header('Cache-Control', 'no-store')
  const signals = { leakedPassword: leakedPasswordSignal(c.req.header(LEAKED_CREDENTIAL_HEADER)) }
  return c.json(await tenantSignIn(c.env, database(c.env), c.req.valid('json'), requestSource(c), requestMeta(c), defer(c), signals), 200)
}

export const mfa: AppRouteHandler<MfaRoute> = async (c) => {
  c.header('Cache-Control', 'no-store')
  return c.json(await completeTenantMfa(c.env, database(c.env), c.req.valid('json'), requestSource(c), requestMeta(c), defer(c)), 200)
}

export const requestReset: AppRouteHandler<RequestResetRoute> = async (c) => {
  await requestPasswordReset(c.env, database(c.env), c.req.valid('json'), requestMeta(c), defer(c))
  return c.json({ status: 'accepted' as const }, 202)
}

export const confirmReset: AppRouteHandler<ConfirmResetRoute> = async (c) => {
  c.header('Cache-Control', 'no-store')
  return c.json(await confirmPasswordReset(c.env, database(c.env), c.req.valid('json'), requestMeta(c), defer(c)), 200)
}

export const changePassword: AppRouteHandler<ChangePasswordRoute> = async (c) => {
  // The answer may carry a new bearer token.
  c.header('Cache-Control', 'no-store')
  const result = await change(c.env, database(c.env), c.var.principal, c.req.valid('json'), requestMeta(c))
  return c.json(result, 200)
}

export const logout: AppRouteHandler<LogoutRoute> = async (c) => {
  await signOut(c.env, c.var.principal, requestMeta(c))
  return c.body(null, 204)
}

export const me: AppRouteHandler<MeRoute> = async (c) => c.json(await whoAmI(database(c.env), c.var.principal), 200)

export const patchMe: AppRouteHandler<PatchMeRoute> = async (c) =>
  c.json(await updateMe(c.env, database(c.env), c.var.principal, c.req.valid('json'), requestMeta(c)), 200)
