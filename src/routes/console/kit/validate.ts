import type { z } from '@hono/zod-openapi'
import { Problem } from '../../../lib/problem'

/** A form that fails the API's own schema: the same 422 `validation` problem the API answers. */
export function invalidFormProblem(error: z.ZodError) {
  return Problem.validation(error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message, code: issue.code })))
}
