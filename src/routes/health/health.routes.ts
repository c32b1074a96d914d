import { z } from '@hono/zod-openapi'
import { jsonResponse } from '../../lib/openapi'
import { defineRoute } from '../router'

const Check = z.enum(['ok', 'fail'])

export const ReadinessSchema = z
  .object({
    status: z.enum(['ok', 'unavailable']),
    checks: z.object({ d1: Check, r2: Check, durable_objects: Check }),
    failing: z.array(z.string()).openapi({ description: 'Names of the failing checks.' }),
  })
  .openapi('Readiness')

export const live = defineRoute(
  { audience: 'public' },
  {
    method: 'get',
    path: '/health/live',
    tags: ['Health'],
    summary: 'Liveness: the Worker answers',
    responses: { 200: jsonResponse(z.object({ status: z.literal('ok') }), 'Alive') },
  },
  // Load balancers and uptime checkers add cache-busting parameters of their own.
  { anyQuery: true },
)

export const ready = defineRoute(
  { audience: 'public' },
  {
    method: 'get',
    path: '/health/ready',
    tags: ['Health'],
    summary: 'Readiness: D1, R2 and Durable Objects really answer',
    responses: {
      200: jsonResponse(ReadinessSchema, 'Every dependency answered'),
      503: jsonResponse(ReadinessSchema, 'At least one dependency failed; `failing` names it'),
    },
  },
  { anyQuery: true },
)

export type LiveRoute = typeof live
export type ReadyRoute = typeof ready
