import { z } from '@hono/zod-openapi'
import { jsonBody, jsonResponse, problemResponses } from '../../lib/openapi'
import { CurrentPasswordSchema, TotpConfirmSchema } from '../../schemas/auth'
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
  summary: 'Start TOTP enrolment (needs the current password); returns an otpauth:// URI',
  request: { body: jsonBody(CurrentPasswordSchema) },
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
  summary: 'Remove every second factor (needs the current password; refused if the policy requires one)',
  request: { body: jsonBody(CurrentPasswordSchema) },
  responses: { 204: { description: 'Removed' }, ...problemResponses(400, 401, 403, 409, 415, 422) },
})

export type AddEmailRoute = typeof addEmail
export type StartTotpRoute = typeof startTotp
export type ConfirmTotpRoute = typeof confirmTotp
export type RemoveRoute = typeof remove
