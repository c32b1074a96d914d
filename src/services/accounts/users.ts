import type { users } from '../../db/schema'
import { normaliseEmail } from '../../lib/email'
import { newId } from '../../lib/ids'
import { isoNow } from '../../lib/time'
import { hashPassword } from '../passwords/passwords'
import type { Permission, Role } from '../../schemas/permissions'
import type { User } from '../../schemas/users'
import type { Locale } from '../../i18n'

export type UserRow = typeof users.$inferSelect

/** The wire form of an account: never the password hash. */
export function toUser(row: UserRow): User {
  return {
    id: row.id,
    tenant_id: row.tenantId,
    email: row.email,
    name: row.name,
    role: row.role,
    status: row.status,
    permissions: row.permissions as Permission[],
    must_change_password: row.mustChangePassword,
    password_changed_at: row.passwordChangedAt,
    created_at: row.createdAt,
    created_by: row.createdBy,
    last_login_at: row.lastLoginAt,
    language: row.language,
  }
}

/**
 * A new active account row with its password hashed. `mustChangePassword`
 * is true for system-generated temporary passwords (the normal case).
 */
export async function newAccount(fields: {
  tenantId: string
  email: string
  name: string
  role: Role
  permissions: Permission[]
  password: string
  createdBy: string
  mustChangePassword?: boolean
  /** The account's mail language; null (the default) follows the tenant's. */
  language?: Locale | null
}): Promise<UserRow> {
  const now = isoNow()
  return {
    id: newId('usr'),
    tenantId: fields.tenantId,
    email: normaliseEmail(fields.email),
    name: fields.name,
    role: fields.role,
    status: 'active',
    permissions: [...new Set(fields.permissions)].sort(),
    passwordHash: await hashPassword(fields.password),
    passwordChangedAt: now,
    mustChangePassword: fields.mustChangePassword ?? true,
    verifyEmailAtSignIn: false,
    createdAt: now,
    createdBy: fields.createdBy,
    updatedAt: now,
    lastLoginAt: null,
    language: fields.language ?? null,
  }
}
