import { z } from '@hono/zod-openapi'
import { paginated } from './common'

/**
 * What a tenant (or an auditor it hands the trail to) filters by:
 * - `authentication`: proving who one is, and the credentials that do it
 *   (sign-in and sign-out, second factors, passwords, client certificates,
 *   sessions), whoever changes them;
 * - `administration`: who may do what and how the service is set up
 *   (accounts, roles, policy, tenants, operators, support grants);
 * - `data_change`: the tenant's own data created, changed or removed;
 * - `data_extraction`: the tenant's data leaving its control: downloads and
 *   exports by anyone, and every read by the provider's staff (GE-5, SE-38);
 * - `security`: what the security controls refused or raised an alarm about.
 */
export const AUDIT_CATEGORIES = ['authentication', 'administration', 'data_change', 'data_extraction', 'security'] as const

export type AuditCategory = (typeof AUDIT_CATEGORIES)[number]

/**
 * Every action the service records, with its category: the one place a
 * category is decided. An action missing here does not type-check at the
 * call site, so no event can be filed under a guessed category.
 */
export const AUDIT_ACTIONS = {
  'auth.login': 'authentication',
  'auth.logout': 'authentication',
  'auth.password_change': 'authentication',
  'auth.password_expired': 'authentication',
  'auth.password_expiry_reminder': 'authentication',
  'auth.password_reset': 'authentication',
  'auth.password_rehash': 'authentication',
  // A self-service reset code was asked for and mailed (the reset itself is auth.password_reset).
  'auth.password_reset_requested': 'authentication',
  'mfa.challenge': 'authentication',
  'mfa.code_sent': 'authentication',
  'mfa.code_failed': 'authentication',
  'mfa.verified': 'authentication',
  'mfa.enrolled': 'authentication',
  'mfa.totp_started': 'authentication',
  'mfa.removed': 'authentication',
  'session.revoke': 'authentication',
  'session.evicted': 'authentication',
  'user.certificates_replaced': 'authentication',

  'user.create': 'administration',
  'user.update': 'administration',
  'user.delete': 'administration',
  'policy.update': 'administration',
  'tenant.create': 'administration',
  'tenant.update': 'administration',
  // An operator terminated a tenant (the erasure job starts); tenant.erased when it finished and its certificate was signed.
  'tenant.terminate': 'administration',
  'tenant.erased': 'administration',
  'operator.bootstrap': 'administration',
  'operator.create': 'administration',
  'operator.update': 'administration',
  'support.grant': 'administration',
  'support.revoke': 'administration',
  // An admin lifting an account's sign-in locks and blocks; an operator doing it for another operator.
  'user.unlock': 'administration',
  'operator.unlock': 'administration',
  // Data keys (DM-4, DM-5): a tenant's (or the platform's) data key made, every data key re-wrapped
  // under the current master key (one event per rotate call), a tenant's keys destroyed.
  'keys.created': 'administration',
  'keys.rotated': 'administration',
  'keys.destroyed': 'administration',
  // Reviewing the account list in the console; its CSV download is ledger.export.
  'ledger.read': 'administration',
  // Operations (AV-1..3, AV-9, AV-10): the maintenance calendar, notices to tenants, announcements.
  'maintenance.window_scheduled': 'administration',
  'maintenance.window_changed': 'administration',
  'maintenance.window_cancelled': 'administration',
  'maintenance.window_started': 'administration',
  'maintenance.window_armed': 'administration',
  'maintenance.window_ended': 'administration',
  'maintenance.window_reminder': 'administration',
  'maintenance.standing_rule_changed': 'administration',
  // An operator turned the global or a tenant's maintenance flag on or off (windows' own flags ride on their start and end events).
  'maintenance.flag_changed': 'administration',
  'announcement.create': 'administration',
  'notice.completed': 'administration',
  // A tenant reached 80 % or 100 % of its monthly request quota, and its admins were mailed.
  'tenant.usage_alert': 'administration',
  // Backups (DM-1, DM-3, DM-8): a generation written, verified (or refused), expired by retention, failed after retries, started by an operator.
  'backup.created': 'administration',
  'backup.verified': 'administration',
  'backup.expired': 'administration',
  'backup.failed': 'administration',
  'backup.requested': 'administration',

  'record.create': 'data_change',
  'record.update': 'data_change',
  'record.delete': 'data_change',
  'file.upload': 'data_change',
  'file.replace': 'data_change',
  'file.delete': 'data_change',
  // A generation restored over the tenant's data, or into a new tenant (the drill).
  'backup.restored': 'data_change',

  'file.download': 'data_extraction',
  'ledger.export': 'data_extraction',
  'audit.export': 'data_extraction',
  // GET /api/v1/export: the tenant's whole data (DM-2).
  'data.export': 'data_extraction',
  // An operator reading the tenant's records or files, refused or not.
  'support.read': 'data_extraction',

  'security.source_refused': 'security',
  'security.self_check_failed': 'security',
  // Intrusion detection (SE-28): each records an alert mailed to the tenant's admins and sent to the operators' webhook.
  'security.new_network_sign_in': 'security',
  'security.source_refusal_burst': 'security',
  'security.download_burst': 'security',
  'security.permission_failures': 'security',
  // Any other alert raised through the alert channel (brute force, a locked account); details.kind says which.
  'security.alert': 'security',
  // An alert the operators' webhook never accepted, given up on after its last attempt.
  'security.alert_undelivered': 'security',
  // A throttle started refusing a key (one event per key per block, with its count).
  'security.throttled': 'security',
  // An account's sign-in (100 failures) or second step (10 wrong codes) locked.
  'security.account_locked': 'security',
  // A right password that Cloudflare reported as leaked: the account must change it.
  'security.leaked_credential': 'security',
  // Incidents (RE-1..7): availability is a security property; so is telling the operators.
  'incident.open': 'security',
  'incident.update': 'security',
  'incident.resolve': 'security',
  'incident.operators_notified': 'security',
} as const satisfies Record<string, AuditCategory>

export type AuditAction = keyof typeof AUDIT_ACTIONS

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
    request_id: z.string().nullable().openapi({ description: 'The caller\u2019s X-Request-Id if it sent a sane one, else the service\u2019s own ID.' }),
    service_request_id: z
      .string()
      .nullable()
      .openapi({ description: 'The service\u2019s own ID of the request, whatever the caller sent (null on events from before it was recorded).' }),
    ip: z.string().nullable(),
    user_agent: z.string().nullable(),
    outcome: z.enum(['success', 'failure', 'denied']),
    details: z.record(z.string(), z.unknown()),
    prev_hash: z.string(),
    hash: z.string(),
    hash_alg: z.enum(['sha256', 'hmac-sha256']).openapi({
      description: '`hmac-sha256`: keyed with a key the database does not hold; `sha256`: events from before the chain was keyed.',
    }),
  })
  .openapi('AuditEvent')

export const AuditPageSchema = paginated(AuditEventSchema, 'AuditEventPage')

const isoInstant = z.iso.datetime({ offset: true })

export const AuditFilterSchema = z.object({
  actor: z.string().max(64).optional().openapi({ description: 'Actor id (user or operator).' }),
  action: z.string().max(64).optional().openapi({ example: 'auth.login' }),
  target: z.string().max(64).optional().openapi({ description: 'Target id.' }),
  request_id: z
    .string()
    .max(128)
    .optional()
    .openapi({ description: 'Matches the caller\u2019s X-Request-Id or the service\u2019s own ID of the request.' }),
  category: z.enum(AUDIT_CATEGORIES).optional(),
  since: isoInstant.optional().openapi({ description: 'Inclusive lower bound, ISO-8601.' }),
  until: isoInstant.optional().openapi({ description: 'Exclusive upper bound, ISO-8601; later than `since` when both are given (else 422).' }),
})

export const VerifyQuerySchema = z.object({
  full: z
    .enum(['true', 'false'])
    .optional()
    .openapi({ description: 'true: re-walk from the first event, not from the last verified checkpoint.' }),
})

export const ChainVerificationSchema = z
  .object({
    chain: z.string(),
    ok: z.boolean(),
    checked: z.number().int().openapi({ description: 'Events this run checked.' }),
    from_seq: z
      .number()
      .int()
      .openapi({ description: 'The first event this run checked: 1 on a full walk, else the one after the last verified checkpoint.' }),
    complete: z.boolean().openapi({
      description:
        'false only when the run stopped at its per-call budget with no break found so far: its progress is kept, so call again to go on.',
    }),
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
