import type { MiddlewareHandler } from 'hono'
import { bodyLimit as honoBodyLimit } from 'hono/body-limit'
import { Problem } from '../../lib/problem'

export type BodyLimitOptions = {
  /** Largest accepted request body in bytes. Default 1 MiB (JSON API bodies). */
  maxBytes?: number
}

/**
 * Refuses bodies over `maxBytes` with 413 `payload-too-large`, whether the
 * size is declared in Content-Length or only discovered while streaming.
 * Built on hono's bodyLimit; this wrapper only turns its error into a Problem.
 *
 * @example app.use('/api/*', bodyLimit({ maxBytes: 64 * 1024 }))
 */
export const bodyLimit = ({ maxBytes = 1024 * 1024 }: BodyLimitOptions = {}): MiddlewareHandler => {
  const limit = honoBodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw Problem.payloadTooLarge(maxBytes)
    },
  })
  return async function bodyLimit(c, next) {
    return limit(c, next)
  }
}
