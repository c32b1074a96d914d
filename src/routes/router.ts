import { OpenAPIHono, createRoute, type RouteConfig, type RouteHandler } from '@hono/zod-openapi'
import type { MiddlewareHandler } from 'hono'
import type { AppEnv } from '../env'
import { Problem } from '../lib/problem'
import { authenticate } from '../middleware/authenticate'
import { requirePermission } from '../middleware/require-permission'
import type { Permission } from '../schemas/permissions'

/**
 * Who may call a route. Every route declares one; the OpenAPI document shows
 * it as `x-access` (and `security`), so a test can prove no route was left open
 * by accident.
 */
export type Access =
  | { audience: 'public' }
  | { audience: 'bootstrap' }
  | { audience: 'operator'; allowPasswordChange?: boolean }
  | { audience: 'tenant'; permission?: Permission; role?: 'admin'; allowPasswordChange?: boolean }

function accessMiddleware(access: Access): MiddlewareHandler[] {
  switch (access.audience) {
    case 'public':
    case 'bootstrap':
      return []
    case 'operator':
      return [authenticate({ audience: 'operator', allowPasswordChange: access.allowPasswordChange ?? false })]
    case 'tenant': {
      const chain: MiddlewareHandler[] = [
        authenticate({ audience: 'tenant', allowPasswordChange: access.allowPasswordChange ?? false }),
      ]
      if (access.permission || access.role) chain.push(requirePermission({ permission: access.permission, role: access.role }))
      return chain
    }
  }
}

/**
 * createRoute() plus its access rule: the middleware that enforces it and the
 * OpenAPI fields that describe it.
 */
export function defineRoute<P extends string, R extends Omit<RouteConfig, 'path' | 'middleware'> & { path: P }>(
  access: Access,
  config: R,
) {
  const open = access.audience === 'public'
  return createRoute({
    ...config,
    middleware: accessMiddleware(access),
    security: open ? [] : [{ [access.audience === 'bootstrap' ? 'BootstrapToken' : 'Bearer']: [] }],
    'x-access': access,
  })
}

/** Turns zod failures into one 422 `validation` problem listing every bad field. */
const validationHook: ConstructorParameters<typeof OpenAPIHono<AppEnv>>[0] extends infer O
  ? O extends { defaultHook?: infer H }
    ? H
    : never
  : never = (result) => {
  if (result.success) return
  throw Problem.validation(
    result.error.issues.map((issue) => ({
      path: [result.target === 'json' ? 'body' : result.target, ...issue.path.map(String)].join('.'),
      message: issue.message,
      code: issue.code,
    })),
  )
}

export function createRouter() {
  return new OpenAPIHono<AppEnv>({ strict: true, defaultHook: validationHook })
}

export type AppRouteHandler<R extends RouteConfig> = RouteHandler<R, AppEnv>
