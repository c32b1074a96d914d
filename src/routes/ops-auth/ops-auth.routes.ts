import { jsonBody, jsonResponse, problemResponses } from '../../lib/openapi'
import { BootstrapSchema, MfaAnswerSchema, OperatorLoginResultSchema, OperatorLoginSchema, OperatorSchema, PasswordChangeSchema } from '../../schemas/auth'
import { OperatorPasswordChangedSchema } from '../../schemas/operators'
import { defineRoute } from '../router'

export const bootstrap = defineRoute(
  { audience: 'bootstrap' },
  {
    method: 'post',
    path: '/ops/v1/bootstrap',
    tags: ['Operators'],
    summary: 'Create the first operator (needs the BOOTSTRAP_TOKEN secret as bearer token)',
    description: 'Bad tokens count against the client network: 10 an hour, then 429 `too-many-requests` (with `Retry-After` and `RateLimit` headers) until the hour is over.',
    request: { body: jsonBody(BootstrapSchema) },
    responses: {
      201: jsonResponse(OperatorSchema, 'The first operator'),
      ...problemResponses(400, 401, 409, 413, 415, 422, 429),
    },
  },
)

export const login = defineRoute(
  { audience: 'public' },
  {
    method: 'post',
    path: '/ops/v1/auth/login',
    tags: ['Operators'],
    summary: 'Operator sign-in, step one (password; always followed by a second factor)',
    description: 'Throttled like tenant sign-in (429 `too-many-requests`), with the operators as one realm.',
    request: { body: jsonBody(OperatorLoginSchema) },
    responses: {
      200: jsonResponse(OperatorLoginResultSchema, 'Signed in, or a second factor is needed'),
      ...problemResponses(400, 401, 403, 413, 415, 422, 429),
    },
  },
)

export const mfa = defineRoute(
  { audience: 'public' },
  {
    method: 'post',
    path: '/ops/v1/auth/mfa',
    tags: ['Operators'],
    summary: 'Answer the operator sign-in challenge (operators always need a second factor)',
    request: { body: jsonBody(MfaAnswerSchema) },
    responses: {
      200: jsonResponse(OperatorLoginResultSchema, 'Signed in'),
      ...problemResponses(400, 401, 403, 413, 415, 422, 429),
    },
  },
)

export const logout = defineRoute(
  { audience: 'operator', allowPasswordChange: true },
  {
    method: 'post',
    path: '/ops/v1/auth/logout',
    tags: ['Operators'],
    summary: 'End the operator session',
    responses: { 204: { description: 'Signed out' }, ...problemResponses(401) },
  },
)

export const password = defineRoute(
  { audience: 'operator', allowPasswordChange: true },
  {
    method: 'post',
    path: '/ops/v1/auth/password',
    tags: ['Operators'],
    summary: 'Change the operator\u2019s own password (also from a password-change-only session)',
    description:
      'The same rules as for tenant accounts at the platform minimums: at least 8 characters, not guessable, not built from the e-mail, none of the last 5. Every session of the operator ends, this one too; the answer carries a new full session.',
    request: { body: jsonBody(PasswordChangeSchema) },
    responses: {
      200: jsonResponse(OperatorPasswordChangedSchema, 'Changed; a new session'),
      ...problemResponses(400, 401, 403, 409, 413, 415, 422, 429),
    },
  },
)

export type BootstrapRoute = typeof bootstrap
export type LoginRoute = typeof login
export type MfaRoute = typeof mfa
export type LogoutRoute = typeof logout
export type PasswordRoute = typeof password
