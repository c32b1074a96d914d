import type { MiddlewareHandler } from 'hono'
import { newId } from '../../lib/ids'

export type RequestIdOptions = {
  /** Header read from the caller and written on every response. Default `X-Request-Id`. */
  header?: string
  /** What counts as a sane caller-supplied ID. Default: 8–128 of `[A-Za-z0-9._:-]`. */
  accept?: RegExp
}

export type RequestIdVariables = { requestId: string }

/**
 * Gives every request an ID: the caller's, if it sent a sane one (so traces
 * join up across systems), else a fresh `req_…`. The ID goes back on the
 * response and into the log line and every audit event of the request.
 *
 * @example app.use(requestId())
 */
export const requestId = ({
  header = 'X-Request-Id',
  accept = /^[A-Za-z0-9._:-]{8,128}$/,
}: RequestIdOptions = {}): MiddlewareHandler<{ Variables: RequestIdVariables }> =>
  async function requestId(c, next) {
    const offered = c.req.header(header)
    const id = offered && accept.test(offered) ? offered : newId('req')
    c.set('requestId', id)
    c.header(header, id)
    await next()
    // Error responses are built later by onError; make sure they carry it too.
    c.res.headers.set(header, id)
  }
