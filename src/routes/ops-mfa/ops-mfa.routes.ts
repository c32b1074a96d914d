import { z } from '@hono/zod-openapi'
import { jsonBody, jsonResponse, problemResponses } from '../../lib/openapi'
import { CurrentPasswordSchema, TotpConfirmSchema } from '../../schemas/auth'
import { defineRoute } from '../router'

const access = { audience: 'operator' } as const
const tags = ['Operators']

export const startTotp = defineRoute(access, {
  method: 'post',
  path: '/ops/v1/me/mfa/totp',
  tags,
  summary: 'Start TOTP enrolment for the operator (needs the current password); returns an otpauth:// URI',
  request: { body: jsonBody(CurrentPasswordSchema) },
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

export type StartTotpRoute = typeof startTotp
export type ConfirmTotpRoute = typeof confirmTotp
