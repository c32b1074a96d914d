import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from 'cloudflare:test'
import { afterEach, describe, expect, it } from 'vitest'
import { database } from '../src/db/client'
import worker from '../src/index'
import { newId } from '../src/lib/ids'
import { NOTICE_LIMITS, noticeJobWrite, runNoticeJobs } from '../src/services/operations/notices'

/**
 * A notice to many tenants goes out in bounded chunks, each mail exactly
 * once, whatever runs at the same time. Tenants are written straight into
 * D1 here (creating a thousand through the API would test the API, not the
 * fan-out); the notice itself is the same row a cause writes.
 */
const META = { requestId: 'test:notices', ip: null, userAgent: null }
const DEFAULTS = { ...NOTICE_LIMITS }

afterEach(() => Object.assign(NOTICE_LIMITS, DEFAULTS))

async function addTenants(count: number) {
  const now = new Date().toISOString()
  const rows = Array.from({ length: count }, () => {
    const id = newId('tn')
    return { id, slug: `n-${id.slice(-12)}`, contact: `contact-${id.slice(-12)}@example.com` }
  })
  await env.DB.prepare(
    `INSERT INTO tenants (id, slug, name, plan_id, status, contact_email, created_at, updated_at)
     SELECT json_extract(value, '$.id'), json_extract(value, '$.slug'), 'Fixture', 'standard', 'active', json_extract(value, '$.contact'), ?, ? FROM json_each(?)`,
  )
    .bind(now, now, JSON.stringify(rows))
    .run()
  return rows
}

async function addUser(tenantId: string, email: string, role: 'admin' | 'member', status: 'active' | 'disabled') {
  const now = new Date().toISOString()
  await env.DB.prepare(
    `INSERT INTO users (id, tenant_id, email, name, role, status, permissions, password_hash, password_changed_at, must_change_password, created_at, created_by, updated_at)
     VALUES (?, ?, ?, 'U', ?, ?, '[]', 'x', ?, 0, ?, 'test', ?)`,
  )
    .bind(newId('usr'), tenantId, email, role, status, now, now, now)
    .run()
}

async function createNotice(key: string) {
  const job = noticeJobWrite({ dedupeKey: key, scope: 'all', scopeId: newId('ann'), purpose: 'announcement', message: { kind: 'announcement', announcement: { kind: 'notice', effective_at: new Date().toISOString(), subject: 'Hello', body: 'Everyone.' } } })
  await env.DB.prepare(job.write.sql).bind(...job.write.params).run()
  return job.id
}

async function progress(id: string) {
  return env.DB.prepare('SELECT status, tenants_notified, mails_queued FROM notice_jobs WHERE id = ?').bind(id).first<{ status: string; tenants_notified: number; mails_queued: number }>()
}

async function mailsOf(jobId: string) {
  return (await env.DB.prepare("SELECT tenant_id, to_address FROM mail_outbox WHERE dedupe_key LIKE ? ORDER BY tenant_id, to_address").bind(`notice:${jobId}:%`).all<{ tenant_id: string; to_address: string }>()).results
}

async function runCron(scheduledTime: number) {
  const ctx = createExecutionContext()
  await worker.scheduled(createScheduledController({ cron: '*/5 * * * *', scheduledTime }), env, ctx)
  await waitOnExecutionContext(ctx)
}

/** The D1 binding, counting what is asked of it: queries (a batch counts each statement) and the most parameters any one bound. */
function countingEnv() {
  const seen = { queries: 0, maxParams: 0 }
  const wrap = (statement: D1PreparedStatement, params = 0): D1PreparedStatement =>
    new Proxy(statement, {
      get(target, key) {
        if (key === 'bind') return (...values: unknown[]) => {
          seen.maxParams = Math.max(seen.maxParams, values.length)
          return wrap(target.bind(...values), values.length)
        }
        const value = Reflect.get(target, key)
        if (['all', 'first', 'run', 'raw'].includes(String(key))) return (...args: unknown[]) => {
          seen.queries++
          return (value as (...a: unknown[]) => unknown).apply(target, args)
        }
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
  const DB = new Proxy(env.DB, {
    get(target, key) {
      if (key === 'prepare') return (sql: string) => wrap(target.prepare(sql))
      if (key === 'batch') return (statements: D1PreparedStatement[]) => {
        seen.queries += statements.length
        return target.batch(statements)
      }
      const value = Reflect.get(target, key)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  return { env: { ...env, DB } as Env, seen }
}

describe('notice fan-out', () => {
  it('advances by a bounded number of tenants per run, mailing each contact and active admin exactly once', async () => {
    const tenants = await addTenants(30)
    await addUser(tenants[4]!.id, 'admin-one@example.com', 'admin', 'active')
    await addUser(tenants[4]!.id, 'admin-gone@example.com', 'admin', 'disabled')
    await addUser(tenants[4]!.id, 'member@example.com', 'member', 'active')
    const total = (await env.DB.prepare('SELECT count(*) AS n FROM tenants').first<{ n: number }>())!.n
    const id = await createNotice('test:bounded')
    Object.assign(NOTICE_LIMITS, { tenantsPerChunk: 4, chunksPerRun: 3 })
    const t = Date.now()
    await runCron(t)
    expect(await progress(id)).toMatchObject({ status: 'pending', tenants_notified: 12 })
    // The same slot again continues where the first left off; nothing is mailed twice.
    await runCron(t)
    expect(await progress(id)).toMatchObject({ status: 'pending', tenants_notified: 24 })
    for (let run = 0; run < 5 && (await progress(id))!.status === 'pending'; run++) await runCron(t + (run + 1) * 300_000)
    expect(await progress(id)).toEqual({ status: 'done', tenants_notified: total, mails_queued: total + 1 })
    const mails = await mailsOf(id)
    expect(mails).toHaveLength(total + 1)
    expect(new Set(mails.map((m) => `${m.tenant_id}:${m.to_address}`)).size).toBe(total + 1)
    expect(mails.filter((m) => m.tenant_id === tenants[4]!.id).map((m) => m.to_address)).toEqual(['admin-one@example.com', tenants[4]!.contact])
    const completed = await env.DB.prepare("SELECT count(*) AS n FROM audit_events WHERE action = 'notice.completed' AND target_id = ?").bind(id).first<{ n: number }>()
    expect(completed!.n).toBe(1)
  })

  it('queues each mail once when two runs work on the same notice at the same time', async () => {
    const total = (await env.DB.prepare('SELECT count(*) AS n FROM tenants').first<{ n: number }>())!.n
    const id = await createNotice('test:concurrent')
    Object.assign(NOTICE_LIMITS, { tenantsPerChunk: 5, chunksPerRun: 20 })
    await Promise.all([runNoticeJobs(env, database(env), META), runNoticeJobs(env, database(env), META), runNoticeJobs(env, database(env), META)])
    expect(await progress(id)).toMatchObject({ status: 'done', tenants_notified: total })
    const mails = await mailsOf(id)
    expect(mails).toHaveLength(total + 1)
    const completed = await env.DB.prepare("SELECT count(*) AS n FROM audit_events WHERE action = 'notice.completed' AND target_id = ?").bind(id).first<{ n: number }>()
    expect(completed!.n).toBe(1)
  })

  it('reaches 1,200 tenants in one run with the production limits, two D1 queries a chunk and never more than a few bound parameters', async () => {
    await addTenants(1200)
    const total = (await env.DB.prepare('SELECT count(*) AS n FROM tenants').first<{ n: number }>())!.n
    const id = await createNotice('test:scale')
    const counting = countingEnv()
    const run = await runNoticeJobs(counting.env, database(counting.env), META)
    const chunks = Math.floor(total / NOTICE_LIMITS.tenantsPerChunk) + 1
    expect(run).toMatchObject({ chunks, tenants: total, completed: 1 })
    expect(await progress(id)).toMatchObject({ status: 'done', tenants_notified: total })
    expect((await mailsOf(id)).length).toBe(total + 1)
    // One query for the pending notices, then per chunk: the recipients, and one batch of three statements (the last chunk's goes through the audit chain).
    expect(counting.seen.queries).toBeGreaterThanOrEqual(1 + chunks * 2)
    expect(counting.seen.queries).toBeLessThanOrEqual(1 + chunks * 4)
    expect(counting.seen.maxParams).toBeLessThanOrEqual(10)
    // At 10,000 tenants: 100 chunks of 100, 20 a run, so five runs of about 80 queries each.
    expect(NOTICE_LIMITS).toEqual({ tenantsPerChunk: 100, chunksPerRun: 20 })
  })
})
