import { and, desc, eq, lt } from 'drizzle-orm'
import type { Database } from '../../db/client'
import { mfaChallenges, mfaFactors, passwordHistory, recoveryCodes, tenants, users } from '../../db/schema'
import type { SqlWrite } from '../../durable/audit-chain'
import { decodeCursor, page } from '../../lib/cursor'
import { normaliseEmail } from '../../lib/email'
import { ID_PATTERN } from '../../lib/ids'
import type { Defer } from '../../lib/defer'
import { Problem } from '../../lib/problem'
import type { RequestMeta } from '../../lib/request-meta'
import { isoNow } from '../../lib/time'
import { ROLE_DEFAULT_PERMISSIONS, type Permission, type Role } from '../../schemas/permissions'
import { audit, type AuditActor } from '../audit/audit'
import { deliverMail, queueMail } from '../mail/mail'
import { messages, pickLocale, type Locale } from '../../i18n'
import { temporaryPassword } from '../passwords/passwords'
import { endPendingChallenges } from '../identity/mfa'
import { endActorSessions, refreshActorSessions } from '../identity/sessions'
import { inForceSql, tenantLimits } from '../tenancy/limits'
import { newAccount, toUser, type UserRow } from './users'
import { accountKey, tenantRealm } from '../abuse/keys'
import { accountHolds, releaseAccount, wasHeld } from '../abuse/release'

/** Permissions only ever granted to an account explicitly, never by a role (SE-18). */
const EXPLICIT_ONLY: readonly Permission[] = ['download', 'export']

/**
 * An account's permissions: exactly the list asked for, or else its role's
 * defaults plus whatever explicit-only grants it already had.
 */
function permissionsFor(role: Role, requested: Permission[] | undefined, kept: readonly string[] = []): Permission[] {
  const base = requested ?? [...ROLE_DEFAULT_PERMISSIONS[role], ...EXPLICIT_ONLY.filter((p) => kept.includes(p))]
  return [...new Set(base)].sort()
}

const notFound = (id: string) => () => Problem.notFound('user', id)

async function findUser(db: Database, tenantId: string, id: string): Promise<UserRow> {
  const row = ID_PATTERN.test(id)
    ? await db.select().from(users).where(and(eq(users.tenantId, tenantId), eq(users.id, id))).get()
    : undefined
  if (!row) throw notFound(id)()
  return row
}

export async function listAccounts(db: Database, tenantId: string, limit: number, cursor: string | undefined) {
  const after = decodeCursor(cursor, ID_PATTERN)
  const rows = await db
    .select()
    .from(users)
    .where(and(eq(users.tenantId, tenantId), after ? lt(users.id, after) : undefined))
    .orderBy(desc(users.id))
    .limit(limit + 1)
  return page(rows.map(toUser), limit, (u) => u.id)
}

export async function getAccount(db: Database, tenantId: string, id: string) {
  return toUser(await findUser(db, tenantId, id))
}

/** SQL true while the tenant has a free seat for one more active account (EX-3), under the seats in force (plan or contract). */
const SEAT_FREE = `(SELECT count(*) FROM users WHERE tenant_id = ? AND status = 'active')
  < (SELECT ${inForceSql('seats', 't')} FROM tenants t WHERE t.id = ?)`

/** SQL true while the tenant has an active admin other than the given account. */
const OTHER_ADMIN = `EXISTS (SELECT 1 FROM users WHERE tenant_id = ? AND role = 'admin' AND status = 'active' AND id != ?)`

async function seatLimitReached(db: Database, tenantId: string) {
  const limits = await tenantLimits(db, tenantId)
  const allows = limits?.overrides.seats === null ? `The ${limits.plan} plan allows` : 'Your contract allows'
  return Problem.conflict(
    `${allows} ${limits?.inForce.seats} active accounts and all are taken. Disable or delete one, or ask for a larger plan.`,
    'seat-limit-reached',
  )
}

function lastAdmin() {
  return Problem.conflict('This is the tenant\u2019s last active admin. Make another account an active admin first.', 'last-admin')
}

function emailTaken(email: string) {
  return Problem.conflict(`An account with the e-mail ${email} already exists in this tenant.`, 'email-taken')
}

/**
 * Creates an account (SE-12, SE-17): one per person, the e-mail unique in
 * the tenant whatever its case. Least privilege (SE-18): the role's
 * defaults; `download`/`export` only if granted explicitly. The system
 * generates a temporary password, returned once, to be changed at first
 * sign-in. Refused when the plan's seats are all taken (EX-3): the seat
 * check and the insert are one statement, so racing creations cannot both
 * take the last seat.
 */
export async function createAccount(
  env: Env,
  db: Database,
  tenantId: string,
  input: { email: string; name: string; role: Role; permissions?: Permission[] | undefined; language?: Locale | null | undefined },
  actor: AuditActor,
  meta: RequestMeta,
  defer: Defer,
) {
  const email = normaliseEmail(input.email)
  const [existing, tenant] = await Promise.all([
    db.select({ id: users.id }).from(users).where(and(eq(users.tenantId, tenantId), eq(users.email, email))).get(),
    db.select({ language: tenants.language }).from(tenants).where(eq(tenants.id, tenantId)).get(),
  ])
  if (existing) throw emailTaken(email)
  const password = temporaryPassword()
  const row = await newAccount({
    tenantId,
    email,
    name: input.name,
    role: input.role,
    permissions: permissionsFor(input.role, input.permissions),
    password,
    createdBy: `${actor.type}:${actor.id}`,
    language: input.language ?? null,
  })
  const insert: SqlWrite = {
    sql: `INSERT INTO users (id, tenant_id, email, name, role, status, permissions, password_hash, password_changed_at,
            must_change_password, created_at, created_by, updated_at, language)
          SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE ${SEAT_FREE}`,
    params: [
      row.id, tenantId, email, row.name, row.role, row.status, JSON.stringify(row.permissions), row.passwordHash,
      row.passwordChangedAt, 1, row.createdAt, row.createdBy, row.updatedAt, row.language, tenantId, tenantId,
    ],
  }
  const text = messages(pickLocale(row.language, tenant?.language)).mail.accountCreated({ email, role: row.role })
  const mail = queueMail(db, { tenantId, to: email, subject: text.subject, body: text.text })
  const entry = {
    tenantId,
    actor,
    action: 'user.create' as const,
    target: { type: 'user', id: row.id },
    outcome: 'success' as const,
    details: { email, role: row.role, permissions: row.permissions, ...(row.language ? { language: row.language } : {}) },
  }
  const result = await audit(env, meta, entry, [insert, mail.write], { guard: 0 }).catch((error) => {
    // Lost a race for the e-mail between the check and the commit.
    if (String(error).includes('UNIQUE constraint failed: users.tenant_id, users.email')) throw emailTaken(email)
    throw error
  })
  if (!result.ok) throw await seatLimitReached(db, tenantId)
  defer(deliverMail(env, db, [mail.id]))
  return { ...toUser(row), temporary_password: password }
}

export type AccountPatch = {
  name?: string | undefined
  role?: Role | undefined
  status?: 'active' | 'disabled' | undefined
  permissions?: Permission[] | undefined
  /** The account's mail language; null follows the tenant's. */
  language?: Locale | null | undefined
}

/**
 * Changes an account's name, role, status, permissions or mail language. The tenant never
 * loses its last active admin; re-enabling an account needs a free seat.
 * Disabling ends the account's sessions and pending sign-in challenges at
 * once; a role or permission change reaches its live sessions at once.
 */
export async function updateAccount(
  env: Env,
  db: Database,
  tenantId: string,
  id: string,
  patch: AccountPatch,
  actor: AuditActor,
  meta: RequestMeta,
) {
  const current = await findUser(db, tenantId, id)
  const role = patch.role ?? current.role
  const next: UserRow = {
    ...current,
    name: patch.name ?? current.name,
    role,
    status: patch.status ?? current.status,
    permissions:
      patch.permissions !== undefined || role !== current.role
        ? permissionsFor(role, patch.permissions, current.permissions)
        : [...current.permissions].sort(),
    language: patch.language !== undefined ? patch.language : current.language,
  }
  // Permission lists compare as sets: the same grants in another order are no change.
  const same = (k: 'name' | 'role' | 'status' | 'permissions' | 'language') =>
    k === 'permissions' ? JSON.stringify(next.permissions) === JSON.stringify([...current.permissions].sort()) : next[k] === current[k]
  const changes = Object.fromEntries(
    (['name', 'role', 'status', 'permissions', 'language'] as const)
      .filter((k) => !same(k))
      .map((k) => [k, { from: current[k], to: next[k] }]),
  )
  if (Object.keys(changes).length === 0) {
    // Nothing to change in D1, but repeating a PATCH re-pushes it to the sessions, so a push
    // that failed after the first one's commit is healed now rather than at the next pull.
    if (current.status !== 'active') await endActorSessions(env, { tenantId, actorId: id })
    else await refreshActorSessions(env, tenantId, id, current.role, [...current.permissions].sort() as Permission[])
    return toUser(current)
  }
  next.updatedAt = isoNow()

  const losesAdmin = current.role === 'admin' && current.status === 'active' && (next.role !== 'admin' || next.status !== 'active')
  const takesSeat = current.status !== 'active' && next.status === 'active'
  const guards = [losesAdmin ? OTHER_ADMIN : null, takesSeat ? SEAT_FREE : null].filter(Boolean)
  const update: SqlWrite = {
    // updated_at: the row must still be the one the change was computed from (no lost updates).
    sql: `UPDATE users SET name = ?, role = ?, status = ?, permissions = ?, language = ?, updated_at = ?
          WHERE tenant_id = ? AND id = ? AND updated_at = ?${guards.map((g) => ` AND ${g}`).join('')}`,
    params: [
      next.name, next.role, next.status, JSON.stringify(next.permissions), next.language, next.updatedAt, tenantId, id, current.updatedAt,
      ...(losesAdmin ? [tenantId, id] : []),
      ...(takesSeat ? [tenantId, tenantId] : []),
    ],
  }
  const entry = { tenantId, actor, action: 'user.update' as const, target: { type: 'user', id }, outcome: 'success' as const, details: { changes } }
  const writes = next.status !== 'active' ? [update, endPendingChallenges(db, id, next.updatedAt)] : [update]
  if (!(await audit(env, meta, entry, writes, { guard: 0 })).ok) {
    const now = await findUser(db, tenantId, id) // gone meanwhile: 404
    if (now.updatedAt !== current.updatedAt) throw Problem.editConflict('The account was changed by someone else meanwhile. Reload it and try again.')
    throw losesAdmin ? lastAdmin() : await seatLimitReached(db, tenantId)
  }
  if (next.status !== 'active') await endActorSessions(env, { tenantId, actorId: id })
  else await refreshActorSessions(env, tenantId, id, next.role, next.permissions as Permission[])
  return toUser(next)
}

/**
 * Deletes an account for good (SE-36): the row, its factors, recovery codes,
 * pending challenges and password history; its sessions end at once. Audit
 * events stay and still name the id. The last active admin cannot go.
 */
export async function deleteAccount(env: Env, db: Database, tenantId: string, id: string, actor: AuditActor, meta: RequestMeta) {
  const current = await findUser(db, tenantId, id)
  const guardAdmin = current.role === 'admin' && current.status === 'active'
  const remove: SqlWrite = {
    sql: `DELETE FROM users WHERE tenant_id = ? AND id = ?${guardAdmin ? ` AND ${OTHER_ADMIN}` : ''}`,
    params: [tenantId, id, ...(guardAdmin ? [tenantId, id] : [])],
  }
  const entry = {
    tenantId,
    actor,
    action: 'user.delete' as const,
    target: { type: 'user', id },
    outcome: 'success' as const,
    details: { email: current.email, role: current.role },
  }
  const writes = [
    remove,
    db.delete(mfaFactors).where(eq(mfaFactors.accountId, id)).toSQL(),
    db.delete(recoveryCodes).where(eq(recoveryCodes.accountId, id)).toSQL(),
    db.delete(mfaChallenges).where(eq(mfaChallenges.accountId, id)).toSQL(),
    db.delete(passwordHistory).where(eq(passwordHistory.accountId, id)).toSQL(),
  ]
  if (!(await audit(env, meta, entry, writes, { guard: 0 })).ok) {
    await findUser(db, tenantId, id) // gone meanwhile: 404
    throw lastAdmin()
  }
  await endActorSessions(env, { tenantId, actorId: id })
}

/**
 * An admin lifts an account's sign-in locks (SE-30): the lock after 100
 * failed sign-ins in a row, the second-factor lock after 10 wrong codes, and
 * the blocks on the networks it was guessed from, with their runs of
 * failures. Audited as `user.unlock` (what was locked or blocked), recorded
 * before it is made. Another tenant's id answers 404; an account with
 * nothing to lift answers the same, with an empty list.
 */
export async function unlockAccount(env: Env, db: Database, tenantId: string, id: string, actor: AuditActor, meta: RequestMeta) {
  const user = await findUser(db, tenantId, id)
  const tenant = await db.select({ slug: tenants.slug }).from(tenants).where(eq(tenants.id, tenantId)).get()
  if (!tenant) throw notFound(id)()
  const key = accountKey(tenantRealm(tenant.slug), user.email)
  const held = wasHeld(await accountHolds(env, key))
  await audit(env, meta, {
    tenantId,
    actor,
    action: 'user.unlock',
    target: { type: 'user', id: user.id },
    outcome: 'success',
    details: { email: user.email, unlocked: held },
  })
  await releaseAccount(env, key)
  return { id: user.id, unlocked: held }
}
