import type { MiddlewareHandler } from 'hono'
import { Problem } from '../../lib/problem'
import { requestMeta } from '../../lib/request-meta'
import type { Permission } from '../../schemas/permissions'
import type { Principal } from '../../schemas/principal'
import { notePermissionFailure } from '../../services/alerts/detectors'

export type RequirePermissionOptions = {
  /** The permission the route declares. */
  permission?: Permission
  /** The role the route declares (tenant administration routes: `admin`). */
  role?: Principal['role']
  /**
   * Runs before a refusal is thrown. Default: counts it against the session
   * (notePermissionFailure), so a session probing for access raises one
   * `security.permission_failures` alert per window.
   */
  onRefused?: (env: Env, meta: ReturnType<typeof requestMeta>, principal: Principal) => Promise<void>
}

type RequirePermissionEnv = { Bindings: Env; Variables: { principal: Principal; requestId: string; serviceRequestId?: string } }

/**
 * Lets the request through only if the signed-in account holds the route's
 * declared permission and role. Runs after authenticate(); routes declare
 * their rule (see routes/router.ts defineRoute) instead of checking inline.
 * A refusal (403 `forbidden`) is counted per session, on the refusal path
 * only: a request that passes costs nothing here.
 *
 * @example createRoute({ ..., middleware: [authenticate({ audience: 'tenant' }), requirePermission({ permission: 'records:read' })] })
 */
export const requirePermission = ({
  permission,
  role,
  onRefused = notePermissionFailure,
}: RequirePermissionOptions): MiddlewareHandler<RequirePermissionEnv> =>
  async function requirePermission(c, next) {
    const principal = c.var.principal
    const refusal =
      role && principal.role !== role ? `Only ${role}s may do this.`
      : permission && !principal.permissions.includes(permission)
        ? `This needs the permission ${JSON.stringify(permission)}, which your account does not have.`
      : null
    if (refusal) {
      await onRefused(c.env, requestMeta(c), principal)
      throw Problem.forbidden(refusal)
    }
    await next()
  }
