import type { Context, MiddlewareHandler } from 'hono'
import { flagInForce, maintenanceProblem } from '../../lib/maintenance'
import { globalFlag } from '../../services/operations/global-flag'

export type MaintenanceOptions = {
  /**
   * Which requests the global flag refuses. Default: the tenant API
   * (`/api/v1/…`, sign-in and MFA included); health, status, help, the
   * documents and every operator route keep working, so operators can turn
   * maintenance off and monitors can see it.
   */
  applies?: (c: Context) => boolean
}

const tenantApi = (c: Context) => c.req.path.startsWith('/api/v1/')

/**
 * Refuses tenant API requests with 503 `maintenance` while the global flag
 * is on, before any D1 or Durable Object work of the request: the flag comes
 * from the isolate's copy (at most a second old, services/operations/global-flag).
 * A tenant's own flag is checked by the session check and by sign-in.
 *
 * @example app.use(maintenance())
 */
export const maintenance = ({ applies = tenantApi }: MaintenanceOptions = {}): MiddlewareHandler<{ Bindings: Env }> =>
  async function maintenance(c, next) {
    if (applies(c)) {
      const now = Date.now()
      const flag = await globalFlag(c.env, now)
      if (flagInForce(flag, now)) throw maintenanceProblem(flag, now)
    }
    await next()
  }
