import type { Permission } from './permissions'

/**
 * Who is calling, as the session store recorded it at sign-in. Plain data:
 * it crosses the Durable Object RPC boundary.
 */
export type Principal = {
  sessionId: string
  actorType: 'user' | 'operator'
  actorId: string
  /** null for operators. */
  tenantId: string | null
  role: 'admin' | 'member' | 'operator'
  permissions: Permission[]
  /**
   * `password_change`: a temporary or expired password was used; this
   * session may only change the password.
   */
  kind: 'full' | 'password_change'
  expiresAt: string
}
