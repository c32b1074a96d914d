import { z } from '@hono/zod-openapi'

/**
 * The platform's ceiling on one session store (one tenant shard): requests
 * per minute it serves whatever the tenant's plan or contract says, about
 * what one Durable Object can serve. No override may exceed it, and the
 * store enforces it even if a plan row did.
 */
export const PLATFORM_REQUESTS_PER_MINUTE = 60_000

/**
 * Share of the tenant's per-minute limit one session may use: a runaway
 * script on one session can never take the whole minute, so another session
 * (the admin who would stop it) always has room.
 */
export const SESSION_SHARE_OF_MINUTE = 0.5

/** The largest request body outside file uploads (413 `payload-too-large` above it). */
export const REQUEST_BODY_LIMIT_BYTES = 1024 * 1024

/**
 * The window a session store counts a tenant's and a session's requests in,
 * in seconds. Refused requests are not counted, so the refusals of a flood
 * end with the window it ends in (PF-2).
 */
export const REQUEST_WINDOW_SECONDS = 60

/**
 * The per-address ceiling as wrangler.toml configures `ANON_IP_LIMIT`
 * (`[[ratelimits]] simple`; the binding does not report it): requests one
 * client address may send per period that no session store meters.
 */
export const ADDRESS_CEILING = { limit: 300, periodSeconds: 60 } as const

/** Monthly usage mails go out at these percentages of the monthly quota, once each per month and quota. */
export const USAGE_ALERT_LEVELS = [80, 100] as const
export type UsageAlertLevel = (typeof USAGE_ALERT_LEVELS)[number]

/** The limits a plan sets and an operator may override per tenant ("per contract"). */
export const LIMIT_KEYS = ['seats', 'concurrent_sessions', 'storage_bytes', 'requests_per_minute', 'requests_per_month'] as const
export type LimitKey = (typeof LIMIT_KEYS)[number]
export type Limits = Record<LimitKey, number>
export type LimitOverrides = Record<LimitKey, number | null>

/** Largest value an override may take, per limit: beyond these a number is a typo, not a contract. */
export const LIMIT_MAXIMUMS: Limits = {
  seats: 100_000,
  concurrent_sessions: 100_000,
  storage_bytes: 2 ** 50,
  requests_per_minute: PLATFORM_REQUESTS_PER_MINUTE,
  // The platform ceiling held for a whole 31-day month.
  requests_per_month: PLATFORM_REQUESTS_PER_MINUTE * 60 * 24 * 31,
}

const DESCRIPTIONS: Record<LimitKey, string> = {
  seats: 'Active accounts.',
  concurrent_sessions: 'Signed-in sessions at once.',
  storage_bytes: 'Bytes of files and records.',
  requests_per_minute: `Requests per minute (60-second windows; at most ${PLATFORM_REQUESTS_PER_MINUTE}, the platform ceiling).`,
  requests_per_month: 'Requests per calendar month (Japan time).',
}

const override = (key: LimitKey) =>
  z
    .number()
    .int()
    .min(0)
    .max(LIMIT_MAXIMUMS[key])
    .nullable()
    .optional()
    .openapi({ description: `${DESCRIPTIONS[key]} A non-negative integer; null returns it to the plan\u2019s.` })

/** PATCH /ops/v1/tenants/{id} `limits`: the overrides to change, at least one. */
export const LimitsPatchSchema = z
  .strictObject(Object.fromEntries(LIMIT_KEYS.map((k) => [k, override(k)])) as Record<LimitKey, ReturnType<typeof override>>)
  .refine((l) => Object.keys(l).length > 0, 'Name at least one limit.')
  .openapi('LimitsPatch', { minProperties: 1 })

/** The overrides a tenant carries: null where the plan's limit applies. */
export const LimitOverridesSchema = z
  .object(Object.fromEntries(LIMIT_KEYS.map((k) => [k, z.number().int().nullable()])) as Record<LimitKey, z.ZodNullable<z.ZodNumber>>)
  .openapi('LimitOverrides', { description: 'Per-contract overrides set by an operator; null: the plan\u2019s limit applies.' })

/** Each limit in force and where it comes from. */
export const LimitsInForceSchema = z
  .object(
    Object.fromEntries(
      LIMIT_KEYS.map((k) => [k, z.object({ limit: z.number().int(), source: z.enum(['plan', 'contract']) })]),
    ) as Record<LimitKey, z.ZodObject<{ limit: z.ZodNumber; source: z.ZodEnum<{ plan: 'plan'; contract: 'contract' }> }>>,
  )
  .openapi('LimitsInForce', { description: 'The limits in force: the plan\u2019s, or an operator\u2019s override (`contract`).' })

export type LimitsPatch = z.infer<typeof LimitsPatchSchema>
export type LimitsInForce = z.infer<typeof LimitsInForceSchema>
