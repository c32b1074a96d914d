import type { z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import { Problem } from '../../../lib/problem'
import { ListQuerySchema } from '../../../schemas/common'

/** A form that fails the API's own schema: the same 422 `validation` problem the API answers. */
export function invalidFormProblem(error: z.ZodError) {
  return Problem.validation(error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message, code: issue.code })))
}

/**
 * A list page's paging (`?cursor=`), through the API's own list query schema:
 * a malformed or empty cursor is the same 422 the API answers.
 */
export function listQuery(c: Context, limit?: number) {
  const cursor = c.req.query('cursor')
  const parsed = ListQuerySchema.safeParse({ ...(limit !== undefined ? { limit: String(limit) } : {}), ...(cursor !== undefined ? { cursor } : {}) })
  if (!parsed.success) throw invalidFormProblem(parsed.error)
  return parsed.data
}
