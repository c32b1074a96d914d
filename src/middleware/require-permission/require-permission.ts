import type { MiddlewareHandler } from 'hono'
import { Problem } from '../../lib/problem'
import type { Permission } from '../../schemas/permissions'
import type { Principal } from '../../schemas/principal'

export type RequirePermissionOptions = {
  /** The permission the route declares. */
  permission?: Permission
  /** The role the route declares (tenant administration routes: `admin`). */
  role?: Principal['role']
}

/**
 * Lets the request through only if the signed-in account holds the route's
 * declared permission and role. Runs after authenticate(); routes declare
 * their rule (see routes/router.ts defineRoute) instead of checking inline.
 *
 * @example createRoute({ ..., middleware: [authenticate({ audience: 'tenant' }), requirePermission({ permission: 'records:read' })] })
 */
export const requirePermission = ({
  permission,
  role,
}: RequirePermissionOptions): MiddlewareHandler<{ Variables: { principal: Principal } }> =>
  async function requirePermission(c, next) {
    if (role && c.var.principal.role !== role) {
      throw Problem.forbidden(`Only ${role}s may do this.`)
    }
    if (permission && !c.var.principal.permissions.includes(permission)) {
      throw Problem.forbidden(`This needs the permission ${JSON.stringify(permission)}, which your account does not have.`)
    }
    await next()
  }
