import { database } from '../../db/client'
import { listCertificates as list, replaceCertificates as replace } from '../../services/certificates'
import { forceReset } from '../../services/password-reset'
import { actorOf, defer, requestMeta } from '../context'
import type { AppRouteHandler } from '../router'
import type { ListCertificatesRoute, ReplaceCertificatesRoute, ResetPasswordRoute } from './users.routes'

export const resetPassword: AppRouteHandler<ResetPasswordRoute> = async (c) => {
  const target = { tenantId: c.var.principal.tenantId!, userId: c.req.valid('param').id }
  c.header('Cache-Control', 'no-store')
  return c.json(await forceReset(c.env, database(c.env), target, actorOf(c), requestMeta(c), { defer: defer(c) }), 200)
}

export const listCertificates: AppRouteHandler<ListCertificatesRoute> = async (c) =>
  c.json(await list(database(c.env), c.var.principal.tenantId!, c.req.valid('param').id), 200)

export const replaceCertificates: AppRouteHandler<ReplaceCertificatesRoute> = async (c) => {
  const result = await replace(
    c.env,
    database(c.env),
    c.var.principal.tenantId!,
    c.req.valid('param').id,
    c.req.valid('json').fingerprints,
    actorOf(c),
    requestMeta(c),
  )
  return c.json(result, 200)
}
