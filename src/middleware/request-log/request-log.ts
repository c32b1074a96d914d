import type { MiddlewareHandler } from 'hono'
import type { Principal } from '../../schemas/principal'

export type RequestLogLine = {
  level: 'info' | 'warn' | 'error'
  msg: 'request'
  request_id: string
  /** The service's own ID for the request, which no caller chooses (the audit trail's `service_request_id`). */
  service_request_id: string
  tenant_id: string | null
  actor_id: string | null
  method: string
  path: string
  status: number
  duration_ms: number
  ip: string | null
}

export type RequestLogOptions = {
  /** Where a line goes. Default: `console.log(JSON.stringify(line))`, which Workers Logs indexes. */
  write?: (line: RequestLogLine) => void
  /** Skip logging when this returns false (e.g. `REQUEST_LOG=off` in tests). Default: always log. */
  enabled?: (env: unknown) => boolean
}

export type RequestLogVariables = { requestId: string; serviceRequestId: string; principal?: Principal }

/**
 * One structured JSON line per request (SE-27): request IDs (the caller's and
 * the service's own), tenant, actor,
 * method, path (never the query string, which may carry cursors or tokens),
 * status, duration and client IP from `CF-Connecting-IP`.
 *
 * @example app.use(requestLog({ enabled: (env) => env.REQUEST_LOG !== 'off' }))
 */
export const requestLog = ({
  write = (line) => console.log(JSON.stringify(line)),
  enabled = () => true,
}: RequestLogOptions = {}): MiddlewareHandler<{ Variables: RequestLogVariables }> =>
  async function requestLog(c, next) {
    const started = Date.now()
    await next()
    if (!enabled(c.env)) return
    const principal = c.get('principal')
    const status = c.res.status
    write({
      level: status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info',
      msg: 'request',
      request_id: c.get('requestId'),
      service_request_id: c.get('serviceRequestId'),
      tenant_id: principal?.tenantId ?? null,
      actor_id: principal?.actorId ?? null,
      method: c.req.method,
      path: c.req.path,
      status,
      duration_ms: Date.now() - started,
      ip: c.req.header('CF-Connecting-IP') ?? null,
    })
  }
