import { desc, eq, lt } from 'drizzle-orm'
import type { Database } from '../../db/client'
import { operators } from '../../db/schema'
import type { SqlWrite } from '../../durable/audit-chain'
import { decodeCursor, page } from '../../lib/cursor'
import type { Defer } from '../../lib/defer'
import { normaliseEmail } from '../../lib/email'
import { ID_PATTERN, newId } from '../../lib/ids'
import { Problem } from '../../lib/problem'
import type { RequestMeta } from '../../lib/request-meta'
import { isoNow } from '../../lib/time'
import type { OperatorInvite } from '../../schemas/operators'
import type { Principal } from '../../schemas/principal'
import { audit, auditChange } from '../audit/audit'
import { deliverMail, queueMail } from '../mail/mail'
import { messages, pickLocale } from '../../i18n'
import { hashPassword, temporaryPassword } from '../passwords/passwords'
import { toOperator } from './operators'
import { endPendingChallenges } from './mfa'
import { endActorSessions } from './sessions'

/**
 * The provider's own accounts, administered by operators (SE-12, SE-14):
 * one per person, invited by another operator, disabled by another operator.
 * The platform never loses its last active operator.
 */

/** SQL true while an active operator other than the given one remains. */
const OTHER_ACTIVE = `EXISTS (SELECT 1 FROM operators WHERE status = 'active' AND id != ?)`
/** The caller must still be active when the write lands: a request already past authentication is not enough. */
const CALLER_ACTIVE = `EXISTS (SELECT 1 FROM operators WHERE status = 'active' AND id = ?)`

function actorOf(caller: Principal) {
  return { type: 'operator' as const, id: caller.actorId }
}

async function findOperator(db: Database, id: string) {
  const row = ID_PATTERN.test(id) && id.startsWith('op_') ? await db.select().from(operators).where(eq(operators.id, id)).get() : undefined
  if (!row) throw Problem.notFound('operator', id)
  return row
}

/** Every operator, newest first, in pages. */
export async function listOperators(db: Database, limit: number, cursor: string | undefined) {
  const after = decodeCursor(cursor, ID_PATTERN)
  const rows = await db
    .select()
    .from(operators)
    .where(after ? lt(operators.id, after) : undefined)
    .orderBy(desc(operators.id))
    .limit(limit + 1)
  return page(rows.map(toOperator), limit, (o) => o.id)
}

function emailTaken(email: string) {
  return Problem.conflict(`An operator with the e-mail ${email} already exists.`, 'email-taken')
}

/**
 * Invites an operator: a system-generated temporary password, returned once
 * to the inviting operator. It alone does not let the inviter in: every
 * operator's sign-in needs a second factor, and the first one a code mailed
 * to the new operator's own address; it then only changes the password.
 */
export async function inviteOperator(env: Env, db: Database, caller: Principal, input: OperatorInvite, meta: RequestMeta, defer: Defer) {
  const email = normaliseEmail(input.email)
  if (await db.select({ id: operators.id }).from(operators).where(eq(operators.email, email)).get()) throw emailTaken(email)
  const password = temporaryPassword()
  const now = isoNow()
  const row: typeof operators.$inferSelect = {
    id: newId('op'),
    email,
    name: input.name,
    passwordHash: await hashPassword(password),
    passwordChangedAt: now,
    createdAt: now,
    lastLoginAt: null,
    status: 'active',
    mustChangePassword: true,
    createdBy: `operator:${caller.actorId}`,
    language: input.language ?? null,
  }
  const text = messages(pickLocale(row.language)).mail.operatorAccountCreated({ email })
  const mail = queueMail(db, { tenantId: null, to: email, subject: text.subject, body: text.text })
  await audit(
    env,
    meta,
    {
      tenantId: null,
      actor: actorOf(caller),
      action: 'operator.create',
      target: { type: 'operator', id: row.id },
      outcome: 'success',
      details: { email, name: row.name, ...(row.language ? { language: row.language } : {}) },
    },
    [db.insert(operators).values(row).toSQL(), mail.write],
  ).catch((error) => {
    // Lost a race for the e-mail between the check and the commit.
    if (String(error).includes('UNIQUE constraint failed: operators.email')) throw emailTaken(email)
    throw error
  })
  defer(deliverMail(env, db, [mail.id]))
  return { ...toOperator(row), temporary_password: password }
}

/**
 * Disables or re-enables an operator. Nobody disables themselves, and the
 * last active operator is never disabled (the condition is in the write, so
 * two operators disabling each other at once cannot both succeed). A
 * disabled operator's sessions end at once; repeating a disable ends any a
 * failed push left behind.
 */
export async function setOperatorStatus(
  env: Env,
  db: Database,
  caller: Principal,
  id: string,
  status: 'active' | 'disabled',
  meta: RequestMeta,
) {
  const current = await findOperator(db, id)
  if (status === 'disabled' && id === caller.actorId) {
    throw Problem.conflict('You cannot disable your own operator account; ask another operator.', 'cannot-disable-self')
  }
  if (current.status === status) {
    if (status === 'disabled') await endActorSessions(env, { tenantId: null, actorId: id })
    return toOperator(current)
  }
  const update: SqlWrite = {
    sql: `UPDATE operators SET status = ? WHERE id = ? AND status = ? AND ${CALLER_ACTIVE}${status === 'disabled' ? ` AND ${OTHER_ACTIVE}` : ''}`,
    params: [status, id, current.status, caller.actorId, ...(status === 'disabled' ? [id] : [])],
  }
  await auditChange(
    env,
    meta,
    {
      tenantId: null,
      actor: actorOf(caller),
      action: 'operator.update',
      target: { type: 'operator', id },
      outcome: 'success',
      details: { changes: { status: { from: current.status, to: status } } },
    },
    // Disabling also ends the operator's pending sign-in challenges, in the same transaction.
    status === 'disabled' ? [update, endPendingChallenges(db, id, isoNow())] : [update],
    () => Problem.conflict('This is the last active operator; the platform must keep one.', 'last-operator'),
  ).catch(async (error) => {
    if ((await findOperator(db, caller.actorId)).status !== 'active') {
      throw Problem.unauthenticated('This operator account no longer exists or is disabled.')
    }
    if ((await findOperator(db, id)).status !== current.status) {
      throw Problem.editConflict('The operator was changed by someone else meanwhile. Reload and try again.')
    }
    throw error
  })
  if (status === 'disabled') await endActorSessions(env, { tenantId: null, actorId: id })
  return toOperator({ ...current, status })
}
