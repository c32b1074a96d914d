import { drizzle } from 'drizzle-orm/d1'
import * as schema from './schema'

/** A drizzle handle over the request's D1 binding; the only place drizzle() is called. */
export function database(env: Pick<Env, 'DB'>) {
  return drizzle(env.DB, { schema })
}

export type Database = ReturnType<typeof database>
