import { z } from '@hono/zod-openapi'
import { jsonBody, jsonResponse, problemResponses } from '../../lib/openapi'
import { IdParamSchema, ListQuerySchema, paginated } from '../../schemas/common'
import { UnlockedSchema } from '../../schemas/auth'
import { ResetResultSchema, UserCreateSchema, UserCreatedSchema, UserPatchSchema, UserSchema } from '../../schemas/users'
import { defineRoute } from '../router'

const admin = { audience: 'tenant', role: 'admin' } as const
const tags = ['Users']

/** A SHA-256 fingerprint as certificate tools print it: 64 hex digits, bare or as 32 colon-separated pairs. */
const FINGERPRINT_PATTERN = /^(?:[0-9A-Fa-f]{64}|[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){31})$/

const Fingerprint = z
  .string()
  .regex(FINGERPRINT_PATTERN, 'A SHA-256 fingerprint: 64 hex digits, bare or as 32 colon-separated pairs.')
  .openapi({ example: 'ab'.repeat(32) })
  .transform((v) => v.replace(/:/g, '').toLowerCase())

export const CertificatesSchema = z
  .object({ fingerprints: z.array(z.string()).openapi({ description: 'SHA-256 fingerprints, lower-case hex.' }) })
  .openapi('BoundCertificates')

export const list = defineRoute(admin, {
  method: 'get',
  path: '/api/v1/users',
  tags,
  summary: 'The tenant\u2019s accounts, newest first',
  request: { query: ListQuerySchema },
  responses: { 200: jsonResponse(paginated(UserSchema, 'UserPage'), 'A page of accounts'), ...problemResponses(401, 403, 422) },
})

export const create = defineRoute(admin, {
  method: 'post',
  path: '/api/v1/users',
  tags,
  summary: 'Create an account (one per person; temporary password returned once)',
  description:
    'The e-mail is unique in the tenant whatever its case. Permissions default to the role\u2019s; `download` and `export` must be granted explicitly. 409 `seat-limit-reached` when the plan\u2019s seats are taken, 409 `email-taken` for a duplicate.',
  request: { body: jsonBody(UserCreateSchema) },
  responses: { 201: jsonResponse(UserCreatedSchema, 'Created'), ...problemResponses(400, 401, 403, 409, 413, 415, 422) },
})

export const getOne = defineRoute(admin, {
  method: 'get',
  path: '/api/v1/users/{id}',
  tags,
  summary: 'One account',
  request: { params: IdParamSchema },
  responses: { 200: jsonResponse(UserSchema, 'The account'), ...problemResponses(401, 403, 404) },
})

export const patch = defineRoute(admin, {
  method: 'patch',
  path: '/api/v1/users/{id}',
  tags,
  summary: 'Change name, role, status or permissions',
  description:
    'Disabling ends the account\u2019s sessions at once; role and permission changes reach its sessions at once. 409 `last-admin` if the tenant would lose its last active admin.',
  request: { params: IdParamSchema, body: jsonBody(UserPatchSchema) },
  responses: { 200: jsonResponse(UserSchema, 'The changed account'), ...problemResponses(400, 401, 403, 404, 409, 413, 415, 422) },
})

export const remove = defineRoute(admin, {
  method: 'delete',
  path: '/api/v1/users/{id}',
  tags,
  summary: 'Delete an account for good (its audit events stay); its sessions end at once',
  request: { params: IdParamSchema },
  responses: { 204: { description: 'Deleted' }, ...problemResponses(401, 403, 404, 409) },
})

export const resetPassword = defineRoute(admin, {
  method: 'post',
  path: '/api/v1/users/{id}/reset-password',
  tags,
  summary: 'Force a password reset: system-generated temporary password, sessions ended, user told by mail',
  description:
    'Not for your own account: that answers 403 `own-password-reset` and changes nothing; change your own password with `POST /api/v1/auth/password`, which asks for the current one.',
  request: { params: IdParamSchema },
  responses: { 200: jsonResponse(ResetResultSchema, 'Reset'), ...problemResponses(401, 403, 404) },
})

export const unlock = defineRoute(admin, {
  method: 'post',
  path: '/api/v1/users/{id}/unlock',
  tags,
  summary: 'Lift an account\u2019s sign-in and second-factor locks',
  description:
    'Ends the lock after 100 failed sign-ins in a row, the second-factor lock after 10 wrong codes, and the blocks of the networks the account was guessed from, with their runs of failures. Audited as `user.unlock`. Another tenant\u2019s id answers 404.',
  request: { params: IdParamSchema },
  responses: { 200: jsonResponse(UnlockedSchema, 'Unlocked'), ...problemResponses(401, 403, 404) },
})

export const listCertificates = defineRoute(admin, {
  method: 'get',
  path: '/api/v1/users/{id}/certificates',
  tags,
  summary: 'Client-certificate fingerprints bound to an account',
  request: { params: IdParamSchema },
  responses: { 200: jsonResponse(CertificatesSchema, 'Bound fingerprints'), ...problemResponses(401, 403, 404) },
})

export const replaceCertificates = defineRoute(admin, {
  method: 'put',
  path: '/api/v1/users/{id}/certificates',
  tags,
  summary: 'Replace the client-certificate fingerprints bound to an account (ends its sessions)',
  request: {
    params: IdParamSchema,
    body: jsonBody(z.strictObject({ fingerprints: z.array(Fingerprint).max(20) }).openapi('BindCertificates')),
  },
  responses: { 200: jsonResponse(CertificatesSchema, 'Bound fingerprints'), ...problemResponses(400, 401, 403, 404, 415, 422) },
})

export type ListRoute = typeof list
export type CreateRoute = typeof create
export type GetOneRoute = typeof getOne
export type PatchRoute = typeof patch
export type RemoveRoute = typeof remove
export type ResetPasswordRoute = typeof resetPassword
export type UnlockRoute = typeof unlock
export type ListCertificatesRoute = typeof listCertificates
export type ReplaceCertificatesRoute = typeof replaceCertificates
