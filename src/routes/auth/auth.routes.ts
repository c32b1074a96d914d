import { z } from '@hono/zod-openapi'
import { jsonBody, jsonResponse, problemResponses } from '../../lib/openapi'
import {
  MePatchSchema,
  MeSchema,
  MfaAnswerSchema,
  PasswordChangeSchema,
  PasswordResetAcceptedSchema,
  PasswordResetConfirmSchema,
  PasswordResetDoneSchema,
  PasswordResetRequestSchema,
  TenantLoginResultSchema,
  TenantLoginSchema,
} from '../../schemas/auth'
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
      'One 401 `invalid-credentials` answer for a wrong tenant, e-mail or password. A temporary or expired password answers `password_change_required` with a token that can only change the password. ' +
      'Throttled before anything is read (429 `too-many-requests` with `Retry-After`, `RateLimit-Policy` and `RateLimit`, the same whether or not the account exists): 10 failures in a row for one account from one network pause that network for a growing wait; 100 in a row from anywhere lock the account until an admin unlocks it or the owner resets the password; 100 failures a day from one network pause the network. ' +
      'A right password that Cloudflare\u2019s leaked-credentials detection marks (`Exposed-Credential-Check: 1`, `3` or `4`) signs in only to a password change, after a mailed code when the account has no second factor.',
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
      'An e-mailed code (6 digits, 10 minutes, once), a TOTP code (±30 s, never twice) or a recovery code (once). Five tries per challenge; then sign in again. ' +
      '10 wrong codes in a row for one account, across its challenges, lock its second step until an admin unlocks it or the owner resets the password (429). A network answering 30 dead or unknown challenges in an hour is refused (429).',
    request: { body: jsonBody(MfaAnswerSchema) },
    responses: {
      200: jsonResponse(TenantLoginResultSchema, 'Signed in (or a password change is needed first)'),
      ...problemResponses(400, 401, 403, 413, 415, 422, 429),
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
      ...problemResponses(400, 401, 403, 409, 413, 415, 422, 429),
    },
  },
)

export const requestReset = defineRoute(
  { audience: 'public' },
  {
    method: 'post',
    path: '/api/v1/auth/password-reset',
    tags,
    summary: 'Ask for a password-reset code by mail',
    description:
      'Always 202 with the same body and timing, whether or not the tenant and account exist. If the account exists and is active, a single-use 8-digit code valid for 10 minutes is mailed to its address. At most 3 codes an hour per account and 30 requests or wrong codes an hour per network (429).',
    request: { body: jsonBody(PasswordResetRequestSchema) },
    responses: {
      202: jsonResponse(PasswordResetAcceptedSchema, 'Accepted'),
      ...problemResponses(400, 413, 415, 422, 429),
    },
  },
)

export const confirmReset = defineRoute(
  { audience: 'public' },
  {
    method: 'post',
    path: '/api/v1/auth/password-reset/confirm',
    tags,
    summary: 'Choose a new password with a mailed reset code',
    description:
      'A wrong, used or expired code answers 422 on `body.code`, the same for every tenant and e-mail. With the right code the tenant\u2019s password rules apply (422 on `body.new_password`); then the password changes, every session and pending sign-in of the account ends, and its sign-in and second-factor locks are lifted. 10 wrong codes in a row for one account pause it for a growing wait (429).',
    request: { body: jsonBody(PasswordResetConfirmSchema) },
    responses: {
      200: jsonResponse(PasswordResetDoneSchema, 'The password is changed'),
      ...problemResponses(400, 413, 415, 422, 429),
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

export const patchMe = defineRoute(
  { audience: 'tenant' },
  {
    method: 'patch',
    path: '/api/v1/me',
    tags,
    summary: 'Change your own settings: the language of your mail',
    description: '`language`: `ja` or `en`, or null to follow your tenant\u2019s language. Audited as `user.update`.',
    request: { body: jsonBody(MePatchSchema) },
    responses: { 200: jsonResponse(MeSchema, 'You, as changed'), ...problemResponses(401, 403, 409) },
  },
)

export type LoginRoute = typeof login
export type MfaRoute = typeof mfa
export type RequestResetRoute = typeof requestReset
export type ConfirmResetRoute = typeof confirmReset
export type ChangePasswordRoute = typeof changePassword
export type LogoutRoute = typeof logout
export type MeRoute = typeof me
export type PatchMeRoute = typeof patchMe
