import { z } from '@hono/zod-openapi'
import { CIDR_PATTERN, normaliseCidr } from '../lib/cidr'

/**
 * Platform limits a tenant policy may only tighten (EX-1, SE-13, SE-15,
 * SE-19). Each bound's message says it is the platform's, so a 422 explains
 * itself.
 */
export const PLATFORM = {
  passwordMinLength: 8,
  passwordMaxAgeDays: { admin: 30, member: 90 },
  passwordHistory: { min: 5, max: 10 },
  sessionIdleMinutes: { min: 5, max: 60 },
  sessionAbsoluteHours: { min: 1, max: 24 },
  allowlistMax: 100,
  /** Live sessions one account may hold; a sign-in beyond it ends the account's oldest (EX-3). */
  sessionsPerAccount: { min: 1, max: 10, default: 5 },
} as const

const Cidr = z
  .string()
  .max(64)
  .transform((value, ctx) => {
    // The published pattern first, so the document and the server accept the same strings.
    const cidr = CIDR_PATTERN.test(value) ? normaliseCidr(value) : null
    if (!cidr) {
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not an IPv4 or IPv6 address or CIDR range.` })
      return z.NEVER
    }
    return cidr
  })
  .openapi({ example: '203.0.113.0/24', pattern: CIDR_PATTERN.source })

const Allowlist = z
  .array(Cidr)
  .max(PLATFORM.allowlistMax)
  .openapi({ description: 'CIDR ranges (IPv4 or IPv6). Empty: any address.' })

function days(max: number, role: string) {
  return z
    .number()
    .int()
    .min(1)
    .max(max, `The platform requires ${role} passwords to change at least every ${max} days.`)
}

export const PolicySchema = z
  .object({
    password_min_length: z
      .number()
      .int()
      .min(PLATFORM.passwordMinLength, `The platform minimum is ${PLATFORM.passwordMinLength} characters.`)
      .max(128),
    password_max_age_days: z.object({
      admin: days(PLATFORM.passwordMaxAgeDays.admin, 'admin'),
      member: days(PLATFORM.passwordMaxAgeDays.member, 'member'),
    }),
    password_history: z
      .number()
      .int()
      .min(PLATFORM.passwordHistory.min, `The platform forbids reusing at least the last ${PLATFORM.passwordHistory.min} passwords.`)
      .max(PLATFORM.passwordHistory.max),
    mfa_required: z.object({ admin: z.boolean(), member: z.boolean() }),
    ip_allowlist: z.object({ admin: Allowlist, member: Allowlist }),
    client_cert_required: z.object({ admin: z.boolean(), member: z.boolean() }),
    session_idle_minutes: z
      .number()
      .int()
      .min(PLATFORM.sessionIdleMinutes.min)
      .max(PLATFORM.sessionIdleMinutes.max, `The platform ends idle sessions after at most ${PLATFORM.sessionIdleMinutes.max} minutes.`),
    session_absolute_hours: z
      .number()
      .int()
      .min(PLATFORM.sessionAbsoluteHours.min)
      .max(PLATFORM.sessionAbsoluteHours.max, `The platform ends sessions after at most ${PLATFORM.sessionAbsoluteHours.max} hours.`),
    sessions_per_account: z
      .number()
      .int()
      .min(PLATFORM.sessionsPerAccount.min, 'An account needs at least one session.')
      .max(PLATFORM.sessionsPerAccount.max, `The platform allows at most ${PLATFORM.sessionsPerAccount.max} sessions per account.`)
      .openapi({
        description:
          'Sessions one account may hold at once. A sign-in beyond it ends that account\u2019s oldest session instead of being refused.',
      }),
  })
  .openapi('Policy')

export type Policy = z.infer<typeof PolicySchema>

export const DEFAULT_POLICY: Policy = {
  password_min_length: PLATFORM.passwordMinLength,
  password_max_age_days: { ...PLATFORM.passwordMaxAgeDays },
  password_history: PLATFORM.passwordHistory.min,
  mfa_required: { admin: false, member: false },
  ip_allowlist: { admin: [], member: [] },
  client_cert_required: { admin: false, member: false },
  session_idle_minutes: 30,
  session_absolute_hours: 12,
  sessions_per_account: PLATFORM.sessionsPerAccount.default,
}

/**
 * PUT body: any subset of the policy, merged into the current one. Nested
 * role objects may also be partial.
 */
export const PolicyUpdateSchema = z
  .strictObject({
    password_min_length: PolicySchema.shape.password_min_length.optional(),
    password_max_age_days: z.strictObject(PolicySchema.shape.password_max_age_days.shape).partial().optional(),
    password_history: PolicySchema.shape.password_history.optional(),
    mfa_required: z.strictObject(PolicySchema.shape.mfa_required.shape).partial().optional(),
    ip_allowlist: z.strictObject(PolicySchema.shape.ip_allowlist.shape).partial().optional(),
    client_cert_required: z.strictObject(PolicySchema.shape.client_cert_required.shape).partial().optional(),
    session_idle_minutes: PolicySchema.shape.session_idle_minutes.optional(),
    session_absolute_hours: PolicySchema.shape.session_absolute_hours.optional(),
    sessions_per_account: PolicySchema.shape.sessions_per_account.optional(),
  })
  .openapi('PolicyUpdate')

export type PolicyUpdate = z.infer<typeof PolicyUpdateSchema>
