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
  413: 'Body too large (JSON bodies: 1 MiB; file uploads: 25 MiB), or over the storage quota (`quota-exceeded`)',
  415: 'Unsupported media type',
  422: 'Invalid fields',
  429: 'Throttled (`too-many-requests`): a per-address ceiling, the tenant\u2019s or the session\u2019s request limit, or an export frequency limit. Wait `Retry-After` seconds.',
  503: 'Unavailable',
}

/** The fields every throttled answer carries (IETF draft-ietf-httpapi-ratelimit-headers). */
const THROTTLE_HEADERS = {
  'Retry-After': { description: 'Seconds to wait before trying again.', schema: { type: 'integer', minimum: 1 } },
  'RateLimit-Policy': {
    description: 'The limits that apply, e.g. `"tenant-minute";q=600;w=60, "session";q=300;w=60`.',
    schema: { type: 'string' },
  },
  RateLimit: { description: 'What is left of each (`r`) and seconds until it resets (`t`), e.g. `"tenant-minute";r=0;t=12`.', schema: { type: 'string' } },
} as const

/** Error responses of a route, all `application/problem+json`, for the OpenAPI document. */
export function problemResponses(...statuses: number[]) {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      {
        description: PROBLEM_DESCRIPTIONS[status] ?? 'Error',
        ...(status === 429 ? { headers: THROTTLE_HEADERS } : {}),
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
