import { z } from '@hono/zod-openapi'

/** RFC 9457 problem document as every error response carries it. */
export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: 'validation' }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    request_id: z.string(),
    errors: z
      .array(z.object({ path: z.string(), message: z.string(), code: z.string().optional() }))
      .optional()
      .openapi({ description: 'One entry per invalid field (validation problems).' }),
  })
  .openapi('Problem')

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'Malformed request (e.g. the body is not JSON)',
  401: 'Not signed in, or the credentials are wrong',
  403: 'Signed in, but not allowed',
  404: 'No such resource (another tenant\u2019s resource answers the same)',
  409: 'Conflicts with the current state',
  411: 'Content-Length missing',
  413: 'Body too large',
  415: 'Unsupported media type',
  422: 'Invalid fields',
  429: 'Throttled',
  503: 'Unavailable',
}

/** Error responses of a route, all `application/problem+json`, for the OpenAPI document. */
export function problemResponses(...statuses: number[]) {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      {
        description: PROBLEM_DESCRIPTIONS[status] ?? 'Error',
        content: { 'application/problem+json': { schema: ProblemSchema } },
      },
    ]),
  )
}

/** A JSON request body that must be present and valid. */
export function jsonBody<T extends z.ZodType>(schema: T, description?: string) {
  return {
    required: true,
    ...(description ? { description } : {}),
    content: { 'application/json': { schema } },
  } as const
}

/** A JSON response. */
export function jsonResponse<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { 'application/json': { schema } } } as const
}
