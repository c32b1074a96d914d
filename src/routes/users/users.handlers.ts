import { database } from '../../db/client'
import { createAccount, deleteAccount, getAccount, listAccounts, unlockAccount, updateAccount } from '../../services/accounts/accounts'
import { listCertificates as certificates, replaceCertificates as replace } from '../../services/policy/certificates'
import { forceReset } from '../../services/passwords/password-reset'
import { actorOf, defer, requestMeta, requestSource } from '../context'
import type { AppRouteHandler } from '../router'
import type {
  CreateRoute,
  GetOneRoute,
  ListCertificatesRoute,
  ListRoute,
  PatchRoute,
  RemoveRoute,
  ReplaceCertificatesRoute,
  ResetPasswordRoute,
  UnlockRoute,
} from './users.routes'

export const list: AppRouteHandler<ListRoute> = async (c) => {
  const { limit, cursor } = c.req.valid('query')
  return c.json(await listAccounts(database(c.env), c.var.principal.tenantId!, limit, cursor), 200)
}

export const create: AppRouteHandler<CreateRoute> = async (c) => {
  const created = await createAccount(c.env, database(c.env), c.var.principal.tenantId!, c.req.valid('json'), actorOf(c), requestMeta(c), defer(c))
  c.header('Cache-Control', 'no-store')
  return c.json(created, 201)
}

export const getOne: AppRouteHandler<GetOneRoute> = async (c) =>
  c.json(await getAccount(database(c.env), c.var.principal.tenantId!, c.req.valid('param').id), 200)

export const patch: AppRouteHandler<PatchRoute> = async (c) => {
  const user = await updateAccount(
    c.env,
    database(c.env),
    c.var.principal.tenantId!,
    c.req.valid('param').id,
    c.req.valid('json'),
    actorOf(c),
    requestMeta(c),
  )
  return c.json(user, 200)
}

export const remove: AppRouteHandler<RemoveRoute> = async (c) => {
  await deleteAccount(c.env, database(c.env), c.var.principal.tenantId!, c.req.valid('param').id, actorOf(c), requestMeta(c))
  return c.body(null, 204)
}

export const resetPassword: AppRouteHandler<ResetPasswordRoute> = async (c) => {
  const target = { tenantId: c.var.principal.tenantId!, userId: c.req.valid('param').id }
  c.header('Cache-Control', 'no-store')
  return c.json(await forceReset(c.env, database(c.env), target, actorOf(c), requestMeta(c), { defer: defer(c) }), 200)
}

export const unlock: AppRouteHandler<UnlockRoute> = async (c) =>
  c.json(await unlockAccount(c.env, database(c.env), c.var.principal.tenantId!, c.req.valid('param').id, actorOf(c), requestMeta(c)), 200)

export const listCertificates: AppRouteHandler<ListCertificatesRoute> = async (c) =>
  c.json(await certificates(database(c.env), c.var.principal.tenantId!, c.req.valid('param').id), 200)

export const replaceCertificates: AppRouteHandler<ReplaceCertificatesRoute> = async (c) => {
  const result = await replace(
    c.env,
    database(c.env),
    c.var.principal,
    c.req.valid('param').id,
    c.req.valid('json').fingerprints,
    requestSource(c),
    requestMeta(c),
  )
  return c.json(result, 200)
}
