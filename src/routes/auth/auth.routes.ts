import { z } from '@hono/zod-openapi'
import { jsonBody, jsonResponse, problemResponses } from '../../lib/openapi'
import { MeSchema, MfaAnswerSchema, PasswordChangeSchema, TenantLoginResultSchema, TenantLoginSchema } from '../../schemas/auth'
import { UserSchema } from '../../schemas/users'
import { defineRoute } from '../router'

const tags = ['Sign-in']

export const login = defineRoute(
  { audience: 'public' },
  {
    method: 'post',
    path: '/api/v1/auth/login',
    tags,
    summary: 'Sign in to a tenant',
    description:
      'One 401 `invalid-credentials` answer for a wrong tenant, e-mail or password. A temporary or expired password answers `password_change_required` with a token that can only change the password.',
    request: { body: jsonBody(TenantLoginSchema) },
    responses: {
      200: jsonResponse(TenantLoginResultSchema, 'Signed in, or a further step is needed'),
      ...problemResponses(400, 401, 403, 413, 415, 422, 429),
    },
  },
)

export const mfa = defineRoute(
  { audience: 'public' },
  {
    method: 'post',
    path: '/api/v1/auth/mfa',
    tags,
    summary: 'Answer the second-factor challenge of a sign-in',
    description:
      'An e-mailed code (6 digits, 10 minutes, once), a TOTP code (±30 s, never twice) or a recovery code (once). Five tries per challenge; then sign in again.',
    request: { body: jsonBody(MfaAnswerSchema) },
    responses: {
      200: jsonResponse(TenantLoginResultSchema, 'Signed in (or a password change is needed first)'),
      ...problemResponses(400, 401, 403, 413, 415, 422),
    },
  },
)

export const changePassword = defineRoute(
  { audience: 'tenant', allowPasswordChange: true },
  {
    method: 'post',
    path: '/api/v1/auth/password',
    tags,
    summary: 'Change your password',
    description:
      'Needs the current password. Ends every other session of the account and its pending sign-in challenges. A full calling session stays valid; a password-change-only session ends and is replaced by a full one, whose token is in the answer.',
    request: { body: jsonBody(PasswordChangeSchema) },
    responses: {
      200: jsonResponse(
        z
          .object({
            status: z.literal('ok'),
            token: z
              .string()
              .optional()
              .openapi({ description: 'Only when the calling session was password-change-only: the new full session\u2019s bearer token (the old one has ended). Shown once.' }),
            expires_at: z.string(),
            user: UserSchema,
          })
          .openapi('PasswordChanged'),
        'Changed',
      ),
      ...problemResponses(400, 401, 403, 409, 413, 415, 422),
    },
  },
)

export const logout = defineRoute(
  { audience: 'tenant' },
  {
    method: 'post',
    path: '/api/v1/auth/logout',
    tags,
    summary: 'End this session',
    responses: { 204: { description: 'Signed out' }, ...problemResponses(401) },
  },
)

export const me = defineRoute(
  { audience: 'tenant' },
  {
    method: 'get',
    path: '/api/v1/me',
    tags,
    summary: 'The signed-in account, its tenant and session',
    responses: { 200: jsonResponse(MeSchema, 'You'), ...problemResponses(401, 403) },
  },
)

export type LoginRoute = typeof login
export type MfaRoute = typeof mfa
export type ChangePasswordRoute = typeof changePassword
export type LogoutRoute = typeof logout
export type MeRoute = typeof me
