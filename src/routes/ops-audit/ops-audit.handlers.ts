import { database } from '../../db/client'
import { verifyAuditChain } from '../../services/audit/audit'
import { operatorAuditView } from '../../services/audit/operator-audit'
import type { AppRouteHandler } from '../router'
import type { ListRoute, VerifyRoute } from './ops-audit.routes'

export const list: AppRouteHandler<ListRoute> = async (c) => {
  const { limit, cursor, ...filter } = c.req.valid('query')
  return c.json(await operatorAuditView(database(c.env), filter, limit, cursor), 200)
}

export const verify: AppRouteHandler<VerifyRoute> = async (c) => {
  const { chain, full } = c.req.valid('query')
  return c.json(await verifyAuditChain(c.env, chain, { full: full === 'true' }), 200)
}
