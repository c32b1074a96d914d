import { z } from '@hono/zod-openapi'

/** Every permission of API.md, with what it allows in plain words (for the ledger). */
export const PERMISSIONS = {
  'records:read': 'Read the tenant\u2019s records.',
  'records:write': 'Create, change and delete records.',
  'files:read': 'List files and read their metadata.',
  'files:write': 'Upload and delete files.',
  download: 'Download file contents (audited as a data extraction).',
  export: 'Export the tenant\u2019s whole data set (audited as a data extraction).',
  'audit:read': 'Read and export the tenant\u2019s audit log.',
} as const

export type Permission = keyof typeof PERMISSIONS

export const PermissionSchema = z
  .enum(Object.keys(PERMISSIONS) as [Permission, ...Permission[]])
  .openapi('Permission')

export type Role = 'admin' | 'member'

/**
 * Least privilege by default (SE-18): `download` and `export` are never
 * granted by a role, only to an account explicitly.
 */
export const ROLE_DEFAULT_PERMISSIONS: Record<Role, Permission[]> = {
  member: ['records:read', 'records:write', 'files:read', 'files:write'],
  admin: ['records:read', 'records:write', 'files:read', 'files:write', 'audit:read'],
}
