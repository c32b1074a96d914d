import { z } from '@hono/zod-openapi'
import { jsonBody, jsonResponse, problemResponses } from '../../lib/openapi'
import { IdParamSchema } from '../../schemas/common'
import { defineRoute } from '../router'

const admin = { audience: 'tenant', role: 'admin' } as const
const tags = ['Users']

export const ResetResultSchema = z
  .object({
    temporary_password: z.string().openapi({ description: 'Shown once; the user must change it at the next sign-in.' }),
    sessions_revoked: z.number().int(),
  })
  .openapi('PasswordReset')

const Fingerprint = z
  .string()
  .transform((v) => v.replace(/:/g, '').toLowerCase())
  .pipe(z.string().regex(/^[0-9a-f]{64}$/, 'A SHA-256 fingerprint: 64 hex digits (colons allowed).'))

export const CertificatesSchema = z
  .object({ fingerprints: z.array(z.string()).openapi({ description: 'SHA-256 fingerprints, lower-case hex.' }) })
  .openapi('BoundCertificates')

export const resetPassword = defineRoute(admin, {
  method: 'post',
  path: '/api/v1/users/{id}/reset-password',
  tags,
  summary: 'Force a password reset: system-generated temporary password, sessions ended, user told by mail',
  request: { params: IdParamSchema },
  responses: { 200: jsonResponse(ResetResultSchema, 'Reset'), ...problemResponses(401, 403, 404) },
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

export type ResetPasswordRoute = typeof resetPassword
export type ListCertificatesRoute = typeof listCertificates
export type ReplaceCertificatesRoute = typeof replaceCertificates
