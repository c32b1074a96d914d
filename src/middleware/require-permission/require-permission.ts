import type { MiddlewareHandler } from 'hono'
import { Problem } from '../../lib/problem'
import type { Permission } from '../../schemas/permissions'
import type { Principal } from '../../schemas/principal'

export type RequirePermissionOptions = {
  /** The permission the route declares. */
  permission: Permission
}

/**
 * Lets the request through only if the signed-in account holds `permission`.
 * Runs after authenticate(); routes declare it instead of checking roles inline.
 *
 * @example createRoute({ ..., middleware: [authenticate({ audience: 'tenant' }), requirePermission({ permission: 'records:read' })] })
 */
export const requirePermission = ({
  permission,
}: RequirePermissionOptions): MiddlewareHandler<{ Variables: { principal: Principal } }> =>
  async function requirePermission(c, next) {
    if (!c.var.principal.permissions.includes(permission)) {
      throw Problem.forbidden(`This needs the permission ${JSON.stringify(permission)}, which your account does not have.`)
    }
    await next()
  }
