import { database } from '../../db/client'
import { accountLedger } from '../../services/accounts/ledger'
import { actorOf, requestMeta } from '../context'
import type { AppRouteHandler } from '../router'
import type { LedgerRoute } from './ledger.routes'

export const ledger: AppRouteHandler<LedgerRoute> = async (c) => {
  const { format } = c.req.valid('query')
  const result = await accountLedger(c.env, database(c.env), c.var.principal.tenantId!, actorOf(c), requestMeta(c), format)
  c.header('Cache-Control', 'no-store')
  if (typeof result === 'string') {
    return c.body(result, 200, {
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': `attachment; filename="account-ledger-${new Date().toISOString().slice(0, 10)}.csv"`,
    })
  }
  return c.json(result, 200)
}
