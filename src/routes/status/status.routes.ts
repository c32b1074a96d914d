import { z } from '@hono/zod-openapi'
import { StatusSchema } from '../../schemas/operations'
import { defineRoute } from '../router'

export const status = defineRoute(
  { audience: 'public' },
  {
    method: 'get',
    path: '/status',
    tags: ['Health'],
    summary: 'Service status: version, maintenance now, windows ahead, open incidents, announcements',
    description:
      'JSON, or a small HTML page (no scripts, no external assets) when the client prefers `text/html`. Only what concerns every tenant is shown. Cached for 15 seconds.',
    responses: {
      200: {
        description: 'The status now',
        content: { 'application/json': { schema: StatusSchema }, 'text/html': { schema: z.string() } },
      },
    },
  },
)

export type StatusRoute = typeof status
