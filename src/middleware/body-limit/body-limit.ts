import type { Context, MiddlewareHandler } from 'hono'
import { bodyLimit as honoBodyLimit } from 'hono/body-limit'
import { Problem } from '../../lib/problem'

export type BodyLimitOptions = {
  /** Largest accepted request body in bytes. Default 1 MiB (JSON API bodies). */
  maxBytes?: number
  /** Requests that enforce their own limit (streamed uploads). Default: none. */
  skip?: (c: Context) => boolean
}

/**
 * Refuses bodies over `maxBytes` with 413 `payload-too-large`, whether the
 * size is declared in Content-Length or only discovered while streaming.
 * Built on hono's bodyLimit; this wrapper only turns its error into a Problem.
 *
 * @example app.use('/api/*', bodyLimit({ maxBytes: 64 * 1024 }))
 */
export const bodyLimit = ({ maxBytes = 1024 * 1024, skip = () => false }: BodyLimitOptions = {}): MiddlewareHandler => {
  const limit = honoBodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw Problem.payloadTooLarge(maxBytes)
    },
  })
  return async function bodyLimit(c, next) {
    return skip(c) ? next() : limit(c, next)
  }
}
