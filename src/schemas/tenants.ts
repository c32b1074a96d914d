import { z } from '@hono/zod-openapi'
import { EmailSchema, NOTHING_TO_CHANGE, SlugSchema, changesSomething, textSchema } from './common'
import { LanguageSchema } from './language'
import { LimitOverridesSchema, LimitsPatchSchema } from './limits'
import { UserSchema } from './users'

export const PlanIdSchema = z.enum(['free', 'standard', 'enterprise'])

export const PlanSchema = z
  .object({
    id: PlanIdSchema,
    name: z.string(),
    seats: z.number().int(),
    concurrent_sessions: z.number().int(),
    storage_bytes: z.number().int(),
    requests_per_minute: z.number().int(),
    requests_per_month: z.number().int(),
  })
  .openapi('Plan')

export const TenantSchema = z
  .object({
    id: z.string(),
    slug: z.string(),
    name: z.string(),
    plan: PlanIdSchema,
    status: z.enum(['active', 'suspended']),
    contact_email: z.string(),
    storage_used_bytes: z.number().int(),
    limits: LimitOverridesSchema,
    language: LanguageSchema,
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi('Tenant')

export const TenantCreateSchema = z
  .strictObject({
    slug: SlugSchema,
    name: textSchema(200),
    plan: PlanIdSchema,
    contact_email: EmailSchema,
    admin: z.strictObject({ email: EmailSchema, name: textSchema(200) }),
    language: LanguageSchema.optional().openapi({ description: 'The tenant\u2019s mail language; `ja` when left out.' }),
  })
  .openapi('TenantCreate')

export const TenantPatchSchema = z
  .strictObject({
    name: textSchema(200).optional(),
    plan: PlanIdSchema.optional(),
    status: z.enum(['active', 'suspended']).optional(),
    contact_email: EmailSchema.optional(),
    language: LanguageSchema.optional(),
    limits: LimitsPatchSchema.optional().openapi({
      description: 'Per-contract overrides of the plan\u2019s limits; only the named ones change, and null returns one to the plan\u2019s.',
    }),
  })
  .refine(changesSomething, NOTHING_TO_CHANGE)
  .openapi('TenantPatch', { minProperties: 1 })

export const TenantCreatedSchema = z
  .object({
    tenant: TenantSchema,
    admin: UserSchema.extend({
      temporary_password: z.string().openapi({ description: 'Shown once; must be changed at first sign-in.' }),
    }),
  })
  .openapi('TenantCreated')

export type Tenant = z.infer<typeof TenantSchema>
export type TenantCreate = z.infer<typeof TenantCreateSchema>
export type TenantPatch = z.infer<typeof TenantPatchSchema>

/** The tenant as its own admins see and set it (`GET|PATCH /api/v1/tenant`). */
export const TenantSettingsSchema = z
  .object({ id: z.string(), slug: z.string(), name: z.string(), language: LanguageSchema })
  .openapi('TenantSettings')

export const TenantSettingsPatchSchema = z
  .strictObject({ language: LanguageSchema.optional() })
  .refine(changesSomething, NOTHING_TO_CHANGE)
  .openapi('TenantSettingsPatch', { minProperties: 1 })

export type TenantSettingsPatch = z.infer<typeof TenantSettingsPatchSchema>
