import type { MiddlewareHandler } from 'hono'
import { newId } from '../../lib/ids'

export type RequestIdOptions = {
  /** Header read from the caller and written on every response. Default `X-Request-Id`. */
  header?: string
  /** What counts as a sane caller-supplied ID. Default: 8–128 of `[A-Za-z0-9._:-]`. */
  accept?: RegExp
}

export type RequestIdVariables = {
  /** The caller's sane ID, else the service's own: the one on the response and in the log line. */
  requestId: string
  /** Always a fresh `req_…`: the ID no caller can choose, so no two requests share it. */
  serviceRequestId: string
}

/**
 * Gives every request an ID: the caller's, if it sent a sane one (so traces
 * join up across systems), else a fresh `req_…`. The ID goes back on the
 * response and into the log line and every audit event of the request.
 * Because a caller can send the ID of someone else's request, the service
 * also gives every request its own fresh ID, which the audit trail records
 * beside the caller's.
 *
 * @example app.use(requestId())
 */
export const requestId = ({
  header = 'X-Request-Id',
  accept = /^[A-Za-z0-9._:-]{8,128}$/,
}: RequestIdOptions = {}): MiddlewareHandler<{ Variables: RequestIdVariables }> =>
  async function requestId(c, next) {
    const offered = c.req.header(header)
    const own = newId('req')
    const id = offered && accept.test(offered) ? offered : own
    c.set('requestId', id)
    c.set('serviceRequestId', own)
    c.header(header, id)
    await next()
    // Error responses are built later by onError; make sure they carry it too.
    c.res.headers.set(header, id)
  }
