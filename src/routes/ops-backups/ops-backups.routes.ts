import { z } from '@hono/zod-openapi'
import { jsonBody, jsonResponse, problemResponses } from '../../lib/openapi'
import {
  BackupListQuerySchema,
  BackupPageSchema,
  BackupRestoreSchema,
  BackupRestoredSchema,
  BackupStartSchema,
  BackupStartedSchema,
  BackupVerificationSchema,
} from '../../schemas/backups'
import { idParam } from '../../schemas/common'
import { defineRoute } from '../router'

const access = { audience: 'operator' } as const
const tags = ['Operators: backups']
const params = z.object({ id: idParam('id', 'bk_01hx0000000000000000000000') })

export const list = defineRoute(access, {
  method: 'get',
  path: '/ops/v1/backups',
  tags,
  summary: 'Backup generations, newest first, optionally of one tenant',
  request: { query: BackupListQuerySchema },
  responses: { 200: jsonResponse(BackupPageSchema, 'A page of generations') },
})

export const create = defineRoute(access, {
  method: 'post',
  path: '/ops/v1/backups',
  tags,
  summary: 'Snapshot one tenant now, or every active tenant (one workflow instance each)',
  description: 'Idempotent per tenant and JST date: a tenant whose generation of today exists is counted in `already_started` and nothing new is written.',
  request: { body: jsonBody(BackupStartSchema) },
  responses: { 202: jsonResponse(BackupStartedSchema, 'Started'), ...problemResponses(404) },
})

export const verify = defineRoute(access, {
  method: 'post',
  path: '/ops/v1/backups/{id}/verify',
  tags,
  summary: 'Decrypt the whole generation and every file copy, check every digest, and record the result',
  request: { params },
  description: '409 `backup-not-complete` for a generation still running or failed.',
  responses: { 200: jsonResponse(BackupVerificationSchema, 'The result (ok: false says why in verify_result)'), ...problemResponses(404, 409) },
})

export const restore = defineRoute(access, {
  method: 'post',
  path: '/ops/v1/backups/{id}/restore',
  tags,
  summary: 'Restore a generation in place (after a safety snapshot) or into a new tenant slug',
  description:
    'Verified fully before anything is written; 422 `backup-corrupt` for a tampered or wrong-key generation (nothing changes). 409 `slug-taken`, `backup-not-complete`, `backup-schema-mismatch`, `tenant-gone`.',
  request: { params, body: jsonBody(BackupRestoreSchema) },
  responses: { 200: jsonResponse(BackupRestoredSchema, 'Restored'), ...problemResponses(404, 409, 422) },
})

export type ListRoute = typeof list
export type CreateRoute = typeof create
export type VerifyRoute = typeof verify
export type RestoreRoute = typeof restore
