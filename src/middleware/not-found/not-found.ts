import type { NotFoundHandler } from 'hono'
import { Problem } from '../../lib/problem'

export type RouteEntry = { method: string; path: string }

export type NotFoundOptions = {
  /** The app's routes (`app.routes`), read on first use so every route is registered by then. */
  routes: () => RouteEntry[]
}

function patternOf(path: string): RegExp {
  const body = path
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/')
  // Exact match: routing is strict, so /health/live/ is a different, unknown path.
  return new RegExp(`^${body}$`)
}

/**
 * JSON answers for unknown routes: 405 with `Allow` when the path exists
 * under other methods, else 404. Both are problem documents.
 *
 * @example app.notFound(notFound({ routes: () => app.routes }))
 */
export const notFound = ({ routes }: NotFoundOptions): NotFoundHandler => {
  let table: Array<{ pattern: RegExp; method: string }> | null = null
  return function notFound(c) {
    table ??= routes()
      .filter((r) => r.method !== 'ALL' && !r.path.includes('*'))
      .map((r) => ({ pattern: patternOf(r.path), method: r.method }))
    const allowed = [...new Set(table.filter((r) => r.pattern.test(c.req.path)).map((r) => r.method))]
    if (allowed.length > 0) {
      if (allowed.includes('GET')) allowed.push('HEAD')
      throw new Problem({
        status: 405,
        type: 'method-not-allowed',
        title: 'Method not allowed',
        detail: `${c.req.method} is not supported here; use ${allowed.join(', ')}.`,
        headers: { Allow: allowed.join(', ') },
      })
    }
    throw Problem.noRoute(c.req.path)
  }
}
