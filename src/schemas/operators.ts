import { z } from '@hono/zod-openapi'
import { OperatorSchema } from './auth'
import { EmailSchema, PasswordInputSchema, textSchema } from './common'
import { LanguageSchema } from './language'

export const OperatorInviteSchema = z
  .strictObject({
    email: EmailSchema,
    name: textSchema(200),
    language: LanguageSchema.nullable().optional().openapi({ description: 'The language of the new operator\u2019s mail (`ja` or `en`); Japanese when left out.' }),
  })
  .openapi('OperatorInvite')

export const OperatorInvitedSchema = OperatorSchema.extend({
  temporary_password: z.string().openapi({ description: 'Shown once. The first sign-in also needs a code mailed to the new operator and must change it.' }),
}).openapi('OperatorInvited')

export const OperatorPatchSchema = z
  .strictObject({ status: z.enum(['active', 'disabled']) })
  .openapi('OperatorPatch', { description: 'Disabling ends the operator\u2019s sessions at once.' })

/** Answer to an operator's password change: a new full session replaces every earlier one. */
export const OperatorPasswordChangedSchema = z
  .object({
    status: z.literal('ok'),
    token: z.string().openapi({ description: 'The new session\u2019s bearer token; every earlier session of the operator, the caller\u2019s included, has ended.' }),
    expires_at: z.string(),
    operator: OperatorSchema,
  })
  .openapi('OperatorPasswordChanged')

/** Starting a TOTP enrolment replaces the operator's earlier authenticator, so it needs a current factor too. */
export const OperatorFactorChangeSchema = z
  .strictObject({
    current_password: PasswordInputSchema,
    code: z.string().min(1).max(32).optional().openapi({
      description:
        'Required once the operator has a second factor (every operator has e-mail from the first sign-in): a current authenticator code, an unused recovery code, or the code POST /ops/v1/me/mfa/code mails.',
      example: '123456',
    }),
  })
  .openapi('OperatorFactorChange')

export type OperatorInvite = z.infer<typeof OperatorInviteSchema>
