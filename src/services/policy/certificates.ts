import { and, eq } from 'drizzle-orm'
import type { Database } from '../../db/client'
import { accountCertificates, users } from '../../db/schema'
import { ID_PATTERN } from '../../lib/ids'
import { Problem } from '../../lib/problem'
import type { RequestMeta } from '../../lib/request-meta'
import { isoNow } from '../../lib/time'
import { checkSource, type RequestSource } from '../../lib/source-rules'
import type { Principal } from '../../schemas/principal'
import { audit } from '../audit/audit'
import { boundFingerprints, getPolicy } from './policy'
import { sourceRulesOf } from './source-restrictions'
import { endActorSessions } from '../identity/sessions'

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
  caller: Principal,
  userId: string,
  fingerprints: string[],
  source: RequestSource,
  meta: RequestMeta,
) {
  const tenantId = caller.tenantId!
  const actor = { type: caller.actorType, id: caller.actorId }
  await assertUser(db, tenantId, userId)
  const unique = [...new Set(fingerprints.map((f) => f.toLowerCase()))]
  // The same guard as for the policy: an admin cannot unbind the certificate they are using right now.
  if (userId === caller.actorId) {
    const verdict = checkSource(sourceRulesOf(await getPolicy(db, tenantId)), caller.role, source, unique)
    if (!verdict.ok && verdict.rule === 'certificate') {
      throw Problem.validation(
        [{ path: 'body.fingerprints', message: `This would lock you out: ${verdict.detail} Keep the certificate you are using bound.` }],
        'These bindings would reject your own current request, so they were not saved.',
      )
    }
  }
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
