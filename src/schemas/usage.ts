import { z } from '@hono/zod-openapi'
import { PlanIdSchema } from './tenants'

const limitSource = z
  .enum(['plan', 'contract'])
  .openapi({ description: '`plan`: the plan\u2019s limit; `contract`: an operator\u2019s per-tenant override.' })

const measure = (description: string) =>
  z
    .object({ used: z.number().int(), limit: z.number().int(), source: limitSource })
    .openapi({ description })

export const UsageSchema = z
  .object({
    tenant_id: z.string(),
    plan: PlanIdSchema,
    month: z.string().openapi({ description: 'The calendar month counted, `YYYY-MM` in Japan time (UTC+9).', example: '2026-12' }),
    requests: z.object({
      minute: measure('Requests served in the current 60-second window (it opens with the first request after the last one closed), against the per-minute limit.'),
      month: measure('Requests served this month, against the monthly quota. Refused (429) requests do not count.'),
    }),
    storage_bytes: measure('Bytes stored (files and records), against the storage quota.'),
    seats: measure('Active accounts, against the seats.'),
    sessions: measure('Signed-in sessions now, against the concurrent-session limit.'),
  })
  .openapi('Usage')

export type Usage = z.infer<typeof UsageSchema>
