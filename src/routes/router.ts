import { OpenAPIHono, createRoute, z, type RouteConfig, type RouteHandler } from '@hono/zod-openapi'
import type { MiddlewareHandler } from 'hono'
import type { AppEnv } from '../env'
import { problemResponses } from '../lib/openapi'
import { Problem } from '../lib/problem'
import { authenticate } from '../middleware/authenticate'
import { carriesSessionToken, ipRateLimit } from '../middleware/ip-rate-limit'
import { requirePermission } from '../middleware/require-permission'
import { strictJson } from '../middleware/strict-json'
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

/**
 * A request with a session token skips the app-wide per-address ceiling,
 * because signed-in routes meter it in its session store. Routes that sign
 * no one in do not look at that token, so they count such a request here:
 * adding a made-up token to a sign-in does not get around the ceiling.
 */
const countTokenBearers = ipRateLimit({ counts: carriesSessionToken })

function accessMiddleware(access: Access): MiddlewareHandler[] {
  switch (access.audience) {
    case 'public':
    case 'bootstrap':
      return [countTokenBearers as MiddlewareHandler]
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

function takesJson(config: Pick<RouteConfig, 'request'>) {
  return Object.keys(config.request?.body?.content ?? {}).some((type) => /^application\/([\w.-]+\+)?json$/i.test(type))
}

/**
 * Query objects refuse unknown parameters (422 naming them), like bodies
 * refuse unknown fields; a route without a query takes none at all.
 */
function strictQuery(query: unknown) {
  if (query === undefined) return z.strictObject({})
  return query instanceof z.ZodObject ? query.strict() : query
}

/** How a route departs from the defaults every route shares. */
export type RouteOptions = {
  /**
   * Takes any query string and ignores it, instead of refusing unknown
   * parameters (default false). Only for probes that load balancers and
   * uptime checkers call with cache-busting parameters of their own.
   */
  anyQuery?: boolean
}

/** How the document says "any query parameters, ignored": one free-form object, form-exploded (OpenAPI 3). */
const ANY_QUERY_PARAMETER = {
  name: 'any',
  in: 'query',
  required: false,
  style: 'form',
  explode: true,
  schema: { type: 'object', additionalProperties: { type: 'string' } },
  description: 'Any query parameters (a cache-busting one, say) are accepted and ignored.',
} as const

/**
 * The error answers a route can give whatever its handler does, from the
 * machinery in front of it: authentication (401, and 403 for source rules,
 * a password-change-only session or a missing permission, 429 for a flood of
 * unknown tokens), query and body
 * validation (422), body framing (400 malformed or duplicate-key JSON, 413
 * too large, 415 not JSON), throttling (429: the per-address ceiling in
 * front of every route, and the request limits of every signed-in call),
 * and maintenance (503, every tenant API route).
 * Declared here so no route can forget one.
 */
function impliedProblems(access: Access, config: Pick<RouteConfig, 'request' | 'path'>, options: RouteOptions): number[] {
  const statuses = [429]
  // 422: nothing left to validate for a route that takes any query and no path parameters or body.
  if (!options.anyQuery || config.request?.params || config.request?.body) statuses.push(422)
  // 503 `maintenance`: the global flag or the tenant's own (middleware/maintenance, the session check, sign-in).
  if (config.path.startsWith('/api/v1/')) statuses.push(503)
  if (access.audience === 'bootstrap') statuses.push(401)
  // 429: a network sending too many tokens that name no session (services/abuse/token-flood.ts).
  if (access.audience === 'operator' || access.audience === 'tenant') statuses.push(401, 403, 429)
  if (config.request?.body) statuses.push(413)
  if (takesJson(config)) statuses.push(400, 415)
  return statuses
}

/**
 * createRoute() plus its access rule: the middleware that enforces it and the
 * OpenAPI fields that describe it, plus the route's strict query (unless
 * `options.anyQuery`) and the problem answers every route of its kind can give.
 */
export function defineRoute<P extends string, R extends Omit<RouteConfig, 'path' | 'middleware'> & { path: P }>(
  access: Access,
  config: R,
  options: RouteOptions = {},
) {
  const open = access.audience === 'public'
  if (options.anyQuery && config.request?.query) throw new Error(`${config.path}: a route that takes any query declares none`)
  // The additions only widen what the document and validators see; the handler's types stay the route's own.
  const completed = {
    ...config,
    request: options.anyQuery ? { ...config.request } : { ...config.request, query: strictQuery(config.request?.query) },
    ...(options.anyQuery ? { parameters: [ANY_QUERY_PARAMETER] } : {}),
    responses: { ...problemResponses(...impliedProblems(access, config, options)), ...config.responses },
  } as unknown as R
  return createRoute({
    ...completed,
    middleware: [...accessMiddleware(access), ...(takesJson(config) ? [strictJson()] : [])],
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
