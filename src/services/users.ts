import type { users } from '../db/schema'
import type { Permission } from '../schemas/permissions'
import type { User } from '../schemas/users'

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
  }
}
