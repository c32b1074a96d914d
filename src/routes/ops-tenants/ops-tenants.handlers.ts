import { database } from '../../db/client'
import { createTenant, getTenant, listPlans as plans, listTenants, updateTenant } from '../../services/tenancy/tenants'
import { forceReset } from '../../services/passwords/password-reset'
import { erasureCertificate, terminateTenant } from '../../services/tenancy/erasure'
import { usageOf } from '../../services/usage/usage'
import { actorOf, defer, requestMeta } from '../context'
import type { AppRouteHandler } from '../router'
import type { CertificateRoute, RemoveRoute, CreateRoute, GetOneRoute, ListPlansRoute, ListRoute, PatchRoute, ResetAdminPasswordRoute, UsageRoute } from './ops-tenants.routes'

export const listPlans: AppRouteHandler<ListPlansRoute> = async (c) =>
  c.json({ items: await plans(database(c.env)), next_cursor: null }, 200)

export const list: AppRouteHandler<ListRoute> = async (c) => {
  const { limit, cursor } = c.req.valid('query')
  return c.json(await listTenants(database(c.env), limit, cursor), 200)
}

export const create: AppRouteHandler<CreateRoute> = async (c) => {
  const created = await createTenant(c.env, database(c.env), c.req.valid('json'), actorOf(c), requestMeta(c))
  c.header('Cache-Control', 'no-store')
  return c.json(created, 201)
}

export const getOne: AppRouteHandler<GetOneRoute> = async (c) =>
  c.json(await getTenant(database(c.env), c.req.valid('param').id), 200)

export const patch: AppRouteHandler<PatchRoute> = async (c) => {
  const tenant = await updateTenant(
    c.env,
    database(c.env),
    c.req.valid('param').id,
    c.req.valid('json'),
    actorOf(c),
    requestMeta(c),
  )
  return c.json(tenant, 200)
}

export const resetAdminPassword: AppRouteHandler<ResetAdminPasswordRoute> = async (c) => {
  const { id, userId } = c.req.valid('param')
  await getTenant(database(c.env), id)
  const result = await forceReset(c.env, database(c.env), { tenantId: id, userId }, actorOf(c), requestMeta(c), {
    adminsOnly: true,
    defer: defer(c),
  })
  c.header('Cache-Control', 'no-store')
  return c.json(result, 200)
}

export const usage: AppRouteHandler<UsageRoute> = async (c) => c.json(await usageOf(c.env, database(c.env), c.req.valid('param').id), 200)

export const remove: AppRouteHandler<RemoveRoute> = async (c) => {
  const progress = await terminateTenant(c.env, c.req.valid('param').id, actorOf(c), requestMeta(c))
  c.header('Cache-Control', 'no-store')
  if (progress.status === 'finished') return c.json({ certificate: progress.certificate }, 200)
  return c.json(progress, 202)
}

export const certificate: AppRouteHandler<CertificateRoute> = async (c) =>
  c.json({ certificate: await erasureCertificate(database(c.env), c.req.valid('param').id) }, 200)
