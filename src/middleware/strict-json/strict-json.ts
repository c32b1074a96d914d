import type { MiddlewareHandler } from 'hono'
import { Problem } from '../../lib/problem'
import { parseStrictJson } from '../../lib/strict-json'

export type StrictJsonOptions = {
  /** Media types read as JSON. Default: `application/json` and any `application/*+json`, as the validator reads them. */
  mediaType?: RegExp
}

/**
 * The one place a JSON request body is parsed. Malformed JSON and a
 * duplicate key at any depth are 400 `invalid-json` before validation, so
 * two readers can never see one body two ways; the validator then receives
 * the value parsed here instead of parsing the text again. Bodies of other
 * media types pass untouched (the route's media-type check answers them).
 * Declared per route by defineRoute() for routes with a JSON body, after
 * authentication, so an anonymous caller learns nothing from the body.
 *
 * @example createRoute({ ..., middleware: [authenticate({ audience: 'tenant' }), strictJson()] })
 */
export const strictJson = ({ mediaType = /^application\/([\w.-]+\+)?json$/i }: StrictJsonOptions = {}): MiddlewareHandler =>
  async function strictJson(c, next) {
    const declared = c.req.header('Content-Type')?.split(';')[0]?.trim() ?? ''
    if (!mediaType.test(declared)) return next()
    const parsed = parseStrictJson(await c.req.text())
    if (!parsed.ok) {
      if (parsed.reason === 'syntax') throw Problem.badRequest('Malformed JSON in request body', 'invalid-json')
      const path = ['body', ...parsed.path].join('.')
      throw new Problem({
        status: 400,
        type: 'invalid-json',
        title: 'Bad request',
        detail: `The key ${JSON.stringify(parsed.key)} appears twice at ${path}; send each key once.`,
        errors: [{ path, message: 'Duplicate key.', code: 'duplicate_key' }],
      })
    }
    const value = parsed.value
    c.req.json = async <T>() => value as T
    await next()
  }
