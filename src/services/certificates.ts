import { and, eq } from 'drizzle-orm'
import type { Database } from '../db/client'
import { accountCertificates, users } from '../db/schema'
import { ID_PATTERN } from '../lib/ids'
import { Problem } from '../lib/problem'
import type { RequestMeta } from '../lib/request-meta'
import { isoNow } from '../lib/time'
import { audit, type AuditActor } from './audit'
import { boundFingerprints } from './policy'
import { endActorSessions } from './sessions'

async function assertUser(db: Database, tenantId: string, userId: string) {
  const found = ID_PATTERN.test(userId)
    ? await db.select({ id: users.id }).from(users).where(and(eq(users.id, userId), eq(users.tenantId, tenantId))).get()
    : undefined
  if (!found) throw Problem.notFound('user', userId)
}

export async function listCertificates(db: Database, tenantId: string, userId: string) {
  await assertUser(db, tenantId, userId)
  return { fingerprints: await boundFingerprints(db, tenantId, userId) }
}

/**
 * Replaces the client-certificate fingerprints bound to an account (SE-41).
 * Sessions remember the bindings they began with, so every session of the
 * account ends and the next sign-in picks up the new set.
 */
export async function replaceCertificates(
  env: Env,
  db: Database,
  tenantId: string,
  userId: string,
  fingerprints: string[],
  actor: AuditActor,
  meta: RequestMeta,
) {
  await assertUser(db, tenantId, userId)
  const unique = [...new Set(fingerprints.map((f) => f.toLowerCase()))]
  const now = isoNow()
  await audit(
    env,
    meta,
    { tenantId, actor, action: 'user.certificates_replaced', target: { type: 'user', id: userId }, outcome: 'success', details: { fingerprints: unique } },
    [
      db.delete(accountCertificates).where(and(eq(accountCertificates.tenantId, tenantId), eq(accountCertificates.userId, userId))).toSQL(),
      ...(unique.length
        ? [
            db
              .insert(accountCertificates)
              .values(unique.map((fingerprint) => ({ tenantId, userId, fingerprint, createdAt: now, createdBy: `${actor.type}:${actor.id}` })))
              .toSQL(),
          ]
        : []),
    ],
  )
  await endActorSessions(env, { tenantId, actorId: userId })
  return { fingerprints: unique }
}
