import type { MiddlewareHandler } from 'hono'
import { database } from '../../db/client'
import { seedDevelopment } from '../../services/platform/dev-seed'

export type DevSeedOptions = {
  /** Paths served without waiting for the seed (liveness must answer at once). Default `/health/live`. */
  skip?: string[]
}

/**
 * Development only: makes sure the demo accounts exist before the first
 * request is served. Runs once per isolate; a failed attempt is retried on
 * the next request. Does nothing at all unless ENVIRONMENT=development.
 *
 * @example app.use(devSeed())
 */
export const devSeed = ({ skip = ['/health/live'] }: DevSeedOptions = {}): MiddlewareHandler<{ Bindings: Env }> => {
  let seeded: Promise<void> | null = null
  return async function devSeed(c, next) {
    if (c.env.ENVIRONMENT === 'development' && !skip.includes(c.req.path)) {
      seeded ??= seedDevelopment(c.env, database(c.env)).catch((error) => {
        seeded = null
        throw error
      })
      await seeded
    }
    await next()
  }
}
