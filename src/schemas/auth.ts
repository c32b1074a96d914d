import { z } from '@hono/zod-openapi'
import { EmailSchema, NOTHING_TO_CHANGE, PasswordInputSchema, changesSomething, textSchema } from './common'
import { LanguageSchema } from './language'
import { AccountLanguage, UserSchema } from './users'

export const TenantLoginSchema = z
  .strictObject({
    tenant: z.string().min(1).max(64).openapi({ example: 'demo', description: 'The tenant slug.' }),
    email: z.string().min(1).max(254).openapi({ example: 'admin@demo.example' }),
    password: PasswordInputSchema,
  })
  .openapi('TenantLogin')

export const OperatorLoginSchema = z
  .strictObject({ email: z.string().min(1).max(254), password: PasswordInputSchema })
  .openapi('OperatorLogin')

export const BootstrapSchema = z
  .strictObject({ email: EmailSchema, name: textSchema(200), password: PasswordInputSchema })
  .openapi('Bootstrap')

export const PasswordChangeSchema = z
  .strictObject({ current_password: PasswordInputSchema, new_password: PasswordInputSchema })
  .openapi('PasswordChange')

export const MfaAnswerSchema = z
  .strictObject({
    challenge: z.string().min(1).max(128).openapi({ description: 'The challenge from the sign-in answer.' }),
    code: z.string().min(1).max(32).openapi({ description: 'An e-mailed code, a TOTP code or a recovery code.', example: '123456' }),
  })
  .openapi('MfaAnswer')

export const PasswordResetRequestSchema = z
  .strictObject({
    tenant: z.string().min(1).max(64).openapi({ example: 'demo', description: 'The tenant slug.' }),
    email: z.string().min(1).max(254).openapi({ example: 'user@demo.example' }),
  })
  .openapi('PasswordResetRequest')

export const PasswordResetAcceptedSchema = z
  .object({
    status: z.literal('accepted').openapi({
      description: 'The same answer whether or not the account exists. If it does, a code valid for 10 minutes is on its way to its address.',
    }),
  })
  .openapi('PasswordResetAccepted')

export const PasswordResetConfirmSchema = z
  .strictObject({
    tenant: z.string().min(1).max(64).openapi({ example: 'demo' }),
    email: z.string().min(1).max(254).openapi({ example: 'user@demo.example' }),
    code: z.string().min(1).max(32).openapi({ description: 'The code mailed by POST /api/v1/auth/password-reset.', example: '12345678' }),
    new_password: PasswordInputSchema,
  })
  .openapi('PasswordResetConfirm')

export const PasswordResetDoneSchema = z
  .object({
    status: z.literal('ok'),
    sessions_revoked: z.number().int().openapi({ description: 'Sessions of the account that ended.' }),
  })
  .openapi('PasswordResetDone')

export const UnlockedSchema = z
  .object({
    id: z.string(),
    unlocked: z.array(z.enum(['account', 'pair', 'mfa', 'reauth', 'reset_code'])).openapi({
      description:
        'What was locked or blocked and is lifted now: `account` (100 failed sign-ins in a row), `mfa` (10 wrong second-factor codes in a row), `pair` (a network blocked after 10 failures), `reauth` (wrong current passwords), `reset_code` (wrong reset codes). Empty when nothing was.',
    }),
  })
  .openapi('UserUnlocked')

export const CurrentPasswordSchema = z.strictObject({ current_password: PasswordInputSchema }).openapi('CurrentPassword')

/** Re-authentication for replacing or removing second factors: the password, and a current factor if there is one. */
export const FactorChangeSchema = z
  .strictObject({
    current_password: PasswordInputSchema,
    code: z.string().min(1).max(32).optional().openapi({
      description:
        'Required when the account already has a second factor: a current code from the authenticator app, an unused recovery code, or the code POST /api/v1/me/mfa/code mails you.',
      example: '123456',
    }),
  })
  .openapi('FactorChange')

export const FactorChangeCodeSchema = z
  .object({ expires_at: z.string().openapi({ description: 'The mailed code works once until then.' }) })
  .openapi('FactorChangeCode')

export const TotpConfirmSchema = z.strictObject({ code: z.string().min(1).max(16) }).openapi('TotpConfirm')

const MfaRequiredSchema = z.object({
  status: z.literal('mfa_required'),
  challenge: z.string().openapi({ description: 'Answer it at the matching /auth/mfa route within 10 minutes, at most 5 tries.' }),
  methods: z.array(z.enum(['email', 'totp', 'recovery_code'])),
})

const SignedInSchema = z.object({
  status: z.literal('ok'),
  token: z.string().openapi({ description: 'Bearer token for the Authorization header. Shown once.' }),
  expires_at: z.string(),
})

export const TenantLoginResultSchema = z
  .discriminatedUnion('status', [
    SignedInSchema.extend({ user: UserSchema }),
    MfaRequiredSchema,
    z.object({
      status: z.literal('password_change_required'),
      token: z.string().openapi({ description: 'Can only call POST /api/v1/auth/password.' }),
      expires_at: z.string(),
    }),
  ])
  .openapi('TenantLoginResult')

export const OperatorSchema = z
  .object({
    id: z.string(),
    email: z.string(),
    name: z.string(),
    status: z.enum(['active', 'disabled']),
    created_at: z.string(),
    last_login_at: z.string().nullable(),
    language: LanguageSchema.nullable().openapi({ description: 'The language of this operator\u2019s mail (`ja` or `en`); null is Japanese.' }),
  })
  .openapi('Operator')

export const OperatorLoginResultSchema = z
  .discriminatedUnion('status', [
    SignedInSchema.extend({ operator: OperatorSchema }),
    MfaRequiredSchema,
    z.object({
      status: z.literal('password_change_required'),
      token: z.string().openapi({ description: 'Can only call POST /ops/v1/auth/password.' }),
      expires_at: z.string(),
    }),
  ])
  .openapi('OperatorLoginResult')

export const MeSchema = z
  .object({
    user: UserSchema,
    tenant: z.object({ id: z.string(), slug: z.string(), name: z.string(), language: LanguageSchema }),
    session: z.object({ id: z.string(), expires_at: z.string() }),
    mfa: z.object({ methods: z.array(z.enum(['email', 'totp'])) }),
  })
  .openapi('Me')

/** What an account may change about itself here (its password and factors have their own routes). */
export const MePatchSchema = z
  .strictObject({ language: AccountLanguage.optional() })
  .refine(changesSomething, NOTHING_TO_CHANGE)
  .openapi('MePatch', { minProperties: 1 })

export type MePatch = z.infer<typeof MePatchSchema>

export type TenantLogin = z.infer<typeof TenantLoginSchema>
export type PasswordResetRequest = z.infer<typeof PasswordResetRequestSchema>
export type PasswordResetConfirm = z.infer<typeof PasswordResetConfirmSchema>
export type TenantLoginResult = z.infer<typeof TenantLoginResultSchema>
