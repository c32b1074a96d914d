import { z } from '@hono/zod-openapi'
import { jsonBody, jsonResponse, problemResponses } from '../../lib/openapi'
import { FactorChangeCodeSchema, TotpConfirmSchema } from '../../schemas/auth'
import { OperatorFactorChangeSchema } from '../../schemas/operators'
import { defineRoute } from '../router'

const access = { audience: 'operator' } as const
const tags = ['Operators']

export const startTotp = defineRoute(access, {
  method: 'post',
  path: '/ops/v1/me/mfa/totp',
  tags,
  summary: 'Start TOTP enrolment for the operator (needs the current password and a current second factor); returns an otpauth:// URI',
  description:
    'Confirming the new authenticator replaces any earlier one and its recovery codes, so `code` is required: a current TOTP code, an unused recovery code, or the code `POST /ops/v1/me/mfa/code` mails. Without it: 422 on `body.code`.',
  request: { body: jsonBody(OperatorFactorChangeSchema) },
  responses: {
    200: jsonResponse(z.object({ uri: z.string() }).openapi('OperatorTotpEnrolment'), 'Scan this'),
    ...problemResponses(400, 401, 403, 413, 415, 422),
  },
})

export const confirmTotp = defineRoute(access, {
  method: 'post',
  path: '/ops/v1/me/mfa/totp/confirm',
  tags,
  summary: 'Confirm the operator\u2019s TOTP with a first code; returns 10 one-time recovery codes, shown once',
  request: { body: jsonBody(TotpConfirmSchema) },
  responses: {
    200: jsonResponse(z.object({ recovery_codes: z.array(z.string()) }).openapi('OperatorRecoveryCodes'), 'Enrolled'),
    ...problemResponses(400, 401, 403, 409, 413, 415, 422),
  },
})

export const mailCode = defineRoute(access, {
  method: 'post',
  path: '/ops/v1/me/mfa/code',
  tags,
  summary: 'Mail yourself a code that confirms replacing your second factor',
  description:
    'Send the code as `code` to `POST /ops/v1/me/mfa/totp` within 10 minutes; it works once, with 5 tries. A new code ends the previous one.',
  responses: { 200: jsonResponse(FactorChangeCodeSchema, 'Mailed'), ...problemResponses(401, 403, 409) },
})

export type StartTotpRoute = typeof startTotp
export type MailCodeRoute = typeof mailCode
export type ConfirmTotpRoute = typeof confirmTotp
