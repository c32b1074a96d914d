import { z } from '@hono/zod-openapi'
import { jsonBody, jsonResponse, problemResponses } from '../../lib/openapi'
import { CurrentPasswordSchema, FactorChangeCodeSchema, FactorChangeSchema, TotpConfirmSchema } from '../../schemas/auth'
import { defineRoute } from '../router'

const access = { audience: 'tenant' } as const
const tags = ['Second factors']
const Methods = z.object({ methods: z.array(z.enum(['email', 'totp'])) }).openapi('MfaMethods')

export const addEmail = defineRoute(access, {
  method: 'post',
  path: '/api/v1/me/mfa/email',
  tags,
  summary: 'Turn on e-mailed one-time codes (needs the current password)',
  request: { body: jsonBody(CurrentPasswordSchema) },
  responses: { 200: jsonResponse(Methods, 'Your active factors'), ...problemResponses(400, 401, 403, 415, 422) },
})

export const startTotp = defineRoute(access, {
  method: 'post',
  path: '/api/v1/me/mfa/totp',
  tags,
  summary: 'Start TOTP enrolment (needs the current password, and a current second factor if you have one); returns an otpauth:// URI',
  description:
    'Confirming the new authenticator replaces any earlier one and its recovery codes, so an account that already has a second factor must also send `code`: a current TOTP code, an unused recovery code, or the code `POST /api/v1/me/mfa/code` mails. Without it: 422 on `body.code`.',
  request: { body: jsonBody(FactorChangeSchema) },
  responses: {
    200: jsonResponse(z.object({ uri: z.string().openapi({ example: 'otpauth://totp/Mamori:admin%40demo.example?...' }) }).openapi('TotpEnrolment'), 'Scan this'),
    ...problemResponses(400, 401, 403, 415, 422),
  },
})

export const confirmTotp = defineRoute(access, {
  method: 'post',
  path: '/api/v1/me/mfa/totp/confirm',
  tags,
  summary: 'Confirm TOTP with a first code; returns 10 one-time recovery codes, shown once',
  request: { body: jsonBody(TotpConfirmSchema) },
  responses: {
    200: jsonResponse(z.object({ recovery_codes: z.array(z.string()) }).openapi('RecoveryCodes'), 'Enrolled'),
    ...problemResponses(400, 401, 403, 409, 415, 422),
  },
})

export const remove = defineRoute(access, {
  method: 'delete',
  path: '/api/v1/me/mfa',
  tags,
  summary: 'Remove every second factor (needs the current password and a current second factor; refused if the policy requires one)',
  description:
    '`code`: a current TOTP code, an unused recovery code, or the code `POST /api/v1/me/mfa/code` mails. Without it, when the account has a factor: 422 on `body.code`.',
  request: { body: jsonBody(FactorChangeSchema) },
  responses: { 204: { description: 'Removed' }, ...problemResponses(400, 401, 403, 409, 415, 422) },
})

export const mailCode = defineRoute(access, {
  method: 'post',
  path: '/api/v1/me/mfa/code',
  tags,
  summary: 'Mail yourself a code that confirms replacing or removing your second factors (accounts with e-mailed codes)',
  description:
    'Send the code as `code` to `POST /api/v1/me/mfa/totp` or `DELETE /api/v1/me/mfa` within 10 minutes; it works once, with 5 tries. A new code ends the previous one. 409 `no-email-factor` when e-mail is not one of your factors.',
  responses: { 200: jsonResponse(FactorChangeCodeSchema, 'Mailed'), ...problemResponses(401, 403, 409) },
})

export type AddEmailRoute = typeof addEmail
export type MailCodeRoute = typeof mailCode
export type StartTotpRoute = typeof startTotp
export type ConfirmTotpRoute = typeof confirmTotp
export type RemoveRoute = typeof remove
