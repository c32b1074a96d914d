import { and, asc, eq, gt, isNull, lt, or } from 'drizzle-orm'
import { database, type Database } from '../../db/client'
import { tenantErasures, tenants, users } from '../../db/schema'
import { TENANT_TABLES, type TenantTable } from '../../db/tenant-tables'
import { sha256Hex } from '../../lib/digest'
import { ID_PATTERN } from '../../lib/ids'
import { Problem } from '../../lib/problem'
import type { RequestMeta } from '../../lib/request-meta'
import { isoNow } from '../../lib/time'
import { accountKey, tenantRealm } from '../abuse/keys'
import { eraseAccountThrottle } from '../abuse/release'
import { audit, auditChainState, eraseAuditChainState, type AuditActor } from '../audit/audit'
import { SESSION_SHARDS, eraseTenantSessionStores } from '../identity/sessions'
import { RETENTION_NOTICE, signCertificate, signingKey, type ErasureStatement } from './erasure-certificate'
import { destroyTenantKeys, eraseBackupObjects, eraseFileObjects, spend, type Budget } from './erasure-steps'

/**
 * The steps of a termination, in order. Sessions go first, so nobody acts
 * in the tenant while it is erased (the tenant is also suspended, so nobody
 * signs in again); throttle names are HMACs of the accounts' e-mail
 * addresses, so they are derived before the users rows go; the D1 rows go
 * after the objects they describe; the audit trail's last head is read just
 * before the trail itself goes; the key goes last but one, and the
 * certificate is the only thing left.
 */
export const ERASURE_STEPS = ['sessions', 'throttles', 'files', 'backups', 'd1', 'durable', 'tenant_key', 'certificate', 'done'] as const

export type ErasureStep = (typeof ERASURE_STEPS)[number]

/** What the job erased so far; the certificate states the final counts. */
export type ErasureCounts = {
  d1: Record<string, number>
  files: number
  backups: number
  session_stores: number
  audit_chain: number
  throttles: number
  tenant_key: boolean
}

export type ErasureProgress =
  | { status: 'finished'; certificate: string }
  | { status: 'in_progress'; tenant_id: string; step: ErasureStep; started_at: string; erased: ErasureCounts }

/**
 * Work one invocation may spend on erasure (D1 queries, R2 and Durable
 * Object calls; Workers allow 1,000 of each): the operator's DELETE leaves
 * room for its own authentication, the five-minute cron for its other jobs.
 * A module-level object so a test can make a small tenant take several runs.
 */
export const ERASURE_BUDGET = { request: 800, cron: 400 }

/** Rows per DELETE statement: a bounded statement, however large the tenant. */
export const ERASURE_PAGE = { rows: 500, accounts: 100 }

/** How long one invocation holds the job; a holder that died is taken over after it. */
const LEASE_MS = 120_000

/** Kept for the end of the run: the progress save and the lease release. */
const RESERVE = 4

/**
 * The audit trail goes after every other table, `tenants` included: once
 * the tenant row is gone no request can append to its chain (a suspended
 * tenant's refused sign-in still does), so the head read before it is final.
 */
const ERASE_ORDER: readonly TenantTable[] = [
  ...TENANT_TABLES.filter((t) => t.name !== 'audit_events'),
  ...TENANT_TABLES.filter((t) => t.name === 'audit_events'),
]

type ErasureRow = typeof tenantErasures.$inferSelect
type Head = { seq: number; hash: string } | null

type State = {
  tenantId: string
  slug: string
  step: ErasureStep
  cursor: string | null
  counts: ErasureCounts
  /** `{head}` once read (head may be null: a chain that never had an event); null before. */
  auditHead: { head: Head } | null
}

function emptyCounts(): ErasureCounts {
  return { d1: {}, files: 0, backups: 0, session_stores: 0, audit_chain: 0, throttles: 0, tenant_key: false }
}

function stateOf(row: ErasureRow): State {
  return {
    tenantId: row.tenantId,
    slug: row.slug ?? '',
    step: row.step as ErasureStep,
    cursor: row.cursor,
    counts: row.counts as ErasureCounts,
    auditHead: (row.auditHead as State['auditHead']) ?? null,
  }
}

function progressOf(row: ErasureRow): ErasureProgress {
  if (row.finishedAt && row.certificate) return { status: 'finished', certificate: row.certificate }
  return { status: 'in_progress', tenant_id: row.tenantId, step: row.step as ErasureStep, started_at: row.startedAt, erased: row.counts as ErasureCounts }
}

async function findErasure(db: Database, tenantId: string) {
  return db.select().from(tenantErasures).where(eq(tenantErasures.tenantId, tenantId)).get()
}

/**
 * Terminates a tenant (DM-7, SE-37): every row of it in every tenant table,
 * every file and backup object, every Durable Object's storage that belongs
 * to it, then its key; what is kept is the erasure record and its signed
 * certificate. Starting is audited in the operators' log (`tenant.terminate`),
 * committed with the job's record and the tenant's suspension. The job runs
 * within this invocation's budget; what is left the five-minute cron
 * finishes. Calling again goes on with the same job, and once finished
 * answers the same certificate. A missing signing key is refused (503)
 * before anything is erased.
 */
export async function terminateTenant(env: Env, tenantId: string, actor: AuditActor, meta: RequestMeta): Promise<ErasureProgress> {
  const db = database(env)
  if (!ID_PATTERN.test(tenantId)) throw Problem.notFound('tenant', tenantId)
  const existing = await findErasure(db, tenantId)
  if (existing?.finishedAt) return progressOf(existing)
  await signingKey(env)
  if (!existing) {
    const tenant = await db.select().from(tenants).where(eq(tenants.id, tenantId)).get()
    if (!tenant) throw Problem.notFound('tenant', tenantId)
    const now = isoNow()
    // A racing DELETE that committed first makes this one a no-change: it then simply helps run the same job.
    await audit(
      env,
      meta,
      {
        tenantId: null,
        actor,
        action: 'tenant.terminate',
        target: { type: 'tenant', id: tenantId },
        outcome: 'success',
        // No slug: the trail cannot be edited later, and the slug is to survive in the certificate only.
        details: {},
      },
      [
        db
          .insert(tenantErasures)
          .values({
            tenantId,
            slug: tenant.slug,
            step: ERASURE_STEPS[0],
            counts: emptyCounts(),
            requestedBy: `${actor.type}:${actor.id}`,
            startedAt: now,
          })
          .onConflictDoNothing()
          .toSQL(),
        db.update(tenants).set({ status: 'suspended', updatedAt: now }).where(eq(tenants.id, tenantId)).toSQL(),
      ],
      { guard: 0 },
    )
  }
  return runErasure(env, tenantId, { left: ERASURE_BUDGET.request }, meta)
}

/** Where a termination stands without working on it (for a page to show); null when the tenant was never terminated. */
export async function erasureProgress(db: Database, tenantId: string): Promise<ErasureProgress | null> {
  const row = ID_PATTERN.test(tenantId) ? await findErasure(db, tenantId) : undefined
  return row ? progressOf(row) : null
}

/** The certificate of a finished termination; 404 while there is none (never terminated, or still running). */
export async function erasureCertificate(db: Database, tenantId: string): Promise<string> {
  const row = ID_PATTERN.test(tenantId) ? await findErasure(db, tenantId) : undefined
  if (!row?.certificate) throw Problem.notFound('erasure certificate', tenantId)
  return row.certificate
}

/** Terminations not finished yet, oldest first: what the five-minute cron goes on with. */
export async function unfinishedErasures(db: Database, limit: number): Promise<string[]> {
  const rows = await db
    .select({ tenantId: tenantErasures.tenantId })
    .from(tenantErasures)
    .where(isNull(tenantErasures.finishedAt))
    .orderBy(asc(tenantErasures.startedAt))
    .limit(limit)
  return rows.map((r) => r.tenantId)
}

/**
 * Runs a termination on from where it stands, until it is done or `budget`
 * runs out. One invocation at a time holds the job (a lease in its row);
 * another that finds it held answers the progress without doing anything.
 * Every step is idempotent and saves where it stands, so an invocation that
 * dies midway loses at most one page of progress and none of the counts'
 * D1 part (each delete and its count commit together).
 */
export async function runErasure(env: Env, tenantId: string, budget: Budget, meta: RequestMeta): Promise<ErasureProgress> {
  const db = database(env)
  const now = Date.now()
  budget.left -= RESERVE + 1
  const claimed = await db
    .update(tenantErasures)
    .set({ leaseUntil: isoNow(now + LEASE_MS) })
    .where(
      and(
        eq(tenantErasures.tenantId, tenantId),
        isNull(tenantErasures.finishedAt),
        or(isNull(tenantErasures.leaseUntil), lt(tenantErasures.leaseUntil, isoNow(now))),
      ),
    )
    .returning()
    .get()
  if (!claimed) {
    const row = await findErasure(db, tenantId)
    if (!row) throw Problem.notFound('tenant', tenantId)
    return progressOf(row)
  }
  const state = stateOf(claimed)
  const job = new ErasureJob(env, db, state, budget, meta)
  while (state.step !== 'done') {
    const finished = await job.run(state.step)
    if (!finished) break
    if (state.step === 'certificate') {
      state.step = 'done'
      break
    }
    state.step = ERASURE_STEPS[ERASURE_STEPS.indexOf(state.step) + 1]!
    state.cursor = null
    if (!spend(budget)) break
    await job.save()
  }
  budget.left += RESERVE
  if (state.step !== 'done') {
    await job.save(true)
  }
  const row = await findErasure(db, tenantId)
  return progressOf(row!)
}

class ErasureJob {
  constructor(
    private readonly env: Env,
    private readonly db: Database,
    private readonly state: State,
    private readonly budget: Budget,
    private readonly meta: RequestMeta,
  ) {}

  /** Writes where the job stands; `release` also gives up the lease for the next invocation. */
  async save(release = false) {
    const { step, cursor, counts, auditHead, tenantId } = this.state
    await this.db
      .update(tenantErasures)
      .set({ step, cursor, counts, auditHead, ...(release ? { leaseUntil: null } : {}) })
      .where(eq(tenantErasures.tenantId, tenantId))
  }

  /** Runs one step as far as the budget goes; true when the step is complete. */
  run(step: ErasureStep): Promise<boolean> {
    switch (step) {
      case 'sessions':
        return this.sessions()
      case 'throttles':
        return this.throttles()
      case 'files':
        return this.files()
      case 'backups':
        return this.backups()
      case 'd1':
        return this.rows()
      case 'durable':
        return this.durable()
      case 'tenant_key':
        return this.tenantKey()
      case 'certificate':
        return this.certificate()
      case 'done':
        return Promise.resolve(true)
    }
  }

  private async sessions() {
    if (!spend(this.budget, SESSION_SHARDS)) return false
    this.state.counts.session_stores = await eraseTenantSessionStores(this.env, this.state.tenantId)
    return true
  }

  /** Each account's throttle object, named from its e-mail, a page of accounts at a time. */
  private async throttles() {
    const { tenantId, slug, counts } = this.state
    for (;;) {
      const n = Math.min(ERASURE_PAGE.accounts, this.budget.left - 2)
      if (n < 1) return false
      spend(this.budget, 1 + n)
      const after = this.state.cursor
      const page = await this.db
        .select({ id: users.id, email: users.email })
        .from(users)
        .where(and(eq(users.tenantId, tenantId), after ? gt(users.id, after) : undefined))
        .orderBy(asc(users.id))
        .limit(n)
      await Promise.all(page.map((u) => eraseAccountThrottle(this.env, accountKey(tenantRealm(slug), u.email))))
      counts.throttles += page.length
      if (page.length < n) return true
      this.state.cursor = page.at(-1)!.id
      if (!spend(this.budget)) return false
      await this.save()
    }
  }

  private async files() {
    const progress = await eraseFileObjects(this.env, this.state.tenantId, this.budget)
    this.state.counts.files += progress.deleted
    return progress.done
  }

  private async backups() {
    const progress = await eraseBackupObjects(this.env, this.state.tenantId, this.budget)
    this.state.counts.backups += progress.deleted
    return progress.done
  }

  /**
   * Every tenant row, table by table (children first), ERASURE_PAGE.rows per
   * DELETE; each delete commits with its count and the table it reached.
   */
  private async rows() {
    const { tenantId, counts } = this.state
    const db = this.env.DB
    let index = Math.max(0, ERASE_ORDER.findIndex((t) => t.name === this.state.cursor))
    for (; index < ERASE_ORDER.length; index++) {
      const table = ERASE_ORDER[index]!
      if (table.name === 'audit_events' && !this.state.auditHead) {
        if (!spend(this.budget, 2)) return false
        this.state.auditHead = { head: (await auditChainState(this.env, tenantId)).head }
        this.state.cursor = table.name
        await this.save()
      }
      for (;;) {
        if (!spend(this.budget, 2)) return false
        const [deleted] = await db.batch([
          db
            .prepare(
              `DELETE FROM "${table.name}" WHERE rowid IN (SELECT rowid FROM "${table.name}" WHERE "${table.tenantColumn}" = ? LIMIT ${ERASURE_PAGE.rows})`,
            )
            .bind(tenantId),
          db
            .prepare(
              `UPDATE tenant_erasures SET cursor = ?2,
                 counts = json_set(counts, '$.d1.' || ?2, coalesce(json_extract(counts, '$.d1.' || ?2), 0) + changes())
               WHERE tenant_id = ?1`,
            )
            .bind(tenantId, table.name),
        ])
        const n = deleted!.meta.changes
        counts.d1[table.name] = (counts.d1[table.name] ?? 0) + n
        this.state.cursor = table.name
        if (n < ERASURE_PAGE.rows) break
      }
    }
    return true
  }

  /**
   * The audit chain's sequencer, and the session stores once more: a
   * session created between the first sweep and the suspension taking hold
   * cannot outlive the tenant.
   */
  private async durable() {
    if (!spend(this.budget, 1 + SESSION_SHARDS)) return false
    await eraseAuditChainState(this.env, this.state.tenantId)
    await eraseTenantSessionStores(this.env, this.state.tenantId)
    this.state.counts.audit_chain = 1
    return true
  }

  private async tenantKey() {
    if (!spend(this.budget, 2)) return false
    this.state.counts.tenant_key = await destroyTenantKeys(this.env, this.state.tenantId)
    return true
  }

  /** Signs what was erased and keeps only that: the slug stays in the certificate alone. */
  private async certificate() {
    if (!spend(this.budget, 3)) return false
    const { tenantId, slug, counts } = this.state
    const rows = Object.fromEntries(ERASE_ORDER.map((t) => [t.name, counts.d1[t.name] ?? 0]))
    const statement: ErasureStatement = {
      tenant: { id: tenantId, slug },
      erased: {
        d1: { rows, total: Object.values(rows).reduce((a, b) => a + b, 0) },
        files: { objects: counts.files },
        backups: { objects: counts.backups },
        durable_objects: { session_stores: counts.session_stores, audit_chain: counts.audit_chain, throttles: counts.throttles },
        tenant_key: { destroyed: counts.tenant_key },
      },
      final_audit_head: this.state.auditHead?.head ?? null,
      erased_at: isoNow(),
      retention: RETENTION_NOTICE,
    }
    const certificate = await signCertificate(this.env, statement)
    await audit(
      this.env,
      this.meta,
      {
        tenantId: null,
        actor: { type: 'system', id: null },
        action: 'tenant.erased',
        target: { type: 'tenant', id: tenantId },
        outcome: 'success',
        details: {
          d1_rows: statement.erased.d1.total,
          files: counts.files,
          backups: counts.backups,
          durable_objects: counts.session_stores + counts.audit_chain + counts.throttles,
          tenant_key_destroyed: counts.tenant_key,
          certificate_sha256: await sha256Hex(certificate),
        },
      },
      [
        this.db
          .update(tenantErasures)
          .set({ certificate, finishedAt: statement.erased_at, slug: null, step: 'done', cursor: null, counts, leaseUntil: null })
          .where(eq(tenantErasures.tenantId, tenantId))
          .toSQL(),
      ],
    )
    return true
  }
}
