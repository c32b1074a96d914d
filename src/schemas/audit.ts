import { z } from '@hono/zod-openapi'
import { paginated } from './common'

export const AUDIT_CATEGORIES = ['authentication', 'administration', 'data_change', 'data_extraction', 'security'] as const

export const AuditEventSchema = z
  .object({
    id: z.string(),
    tenant_id: z.string().nullable(),
    chain: z.string(),
    seq: z.number().int(),
    at: z.string(),
    actor_type: z.string(),
    actor_id: z.string().nullable(),
    action: z.string(),
    category: z.enum(AUDIT_CATEGORIES),
    target_type: z.string().nullable(),
    target_id: z.string().nullable(),
    request_id: z.string().nullable(),
    ip: z.string().nullable(),
    user_agent: z.string().nullable(),
    outcome: z.enum(['success', 'failure', 'denied']),
    details: z.record(z.string(), z.unknown()),
    prev_hash: z.string(),
    hash: z.string(),
  })
  .openapi('AuditEvent')

export const AuditPageSchema = paginated(AuditEventSchema, 'AuditEventPage')

const isoInstant = z.iso.datetime({ offset: true })

export const AuditFilterSchema = z.object({
  actor: z.string().max(64).optional().openapi({ description: 'Actor id (user or operator).' }),
  action: z.string().max(64).optional().openapi({ example: 'auth.login' }),
  target: z.string().max(64).optional().openapi({ description: 'Target id.' }),
  request_id: z.string().max(128).optional(),
  category: z.enum(AUDIT_CATEGORIES).optional(),
  since: isoInstant.optional().openapi({ description: 'Inclusive lower bound, ISO-8601.' }),
  until: isoInstant.optional().openapi({ description: 'Exclusive upper bound, ISO-8601.' }),
})

export const ChainVerificationSchema = z
  .object({
    chain: z.string(),
    ok: z.boolean(),
    checked: z.number().int(),
    head: z.object({ seq: z.number().int(), hash: z.string() }).nullable(),
    problem: z
      .object({ seq: z.number().int(), reason: z.string() })
      .nullable()
      .openapi({ description: 'The first break found, if any.' }),
  })
  .openapi('ChainVerification')

export type AuditEvent = z.infer<typeof AuditEventSchema>
export type AuditFilter = z.infer<typeof AuditFilterSchema>
export type ChainVerification = z.infer<typeof ChainVerificationSchema>
