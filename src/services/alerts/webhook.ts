import { and, eq, inArray, lte } from 'drizzle-orm'
import type { Database } from '../../db/client'
import { jsonList } from '../../db/json-list'
import { alertOutbox } from '../../db/schema'
import type { SqlWrite } from '../../durable/audit-chain'
import { toHex, utf8 } from '../../lib/encoding'
import { isoNow } from '../../lib/time'
import { audit } from '../audit/audit'
import { alertWebhookKey } from '../keys/platform-keys'

/** Attempts before an alert is given up on: with the backoff below, a receiver may be down for about two hours. */
export const WEBHOOK_MAX_ATTEMPTS = 8

/** The wait after the n-th attempt failed: 1, 2, 4, … minutes, at most an hour (the cron looks every five). */
export function webhookBackoffMs(attempt: number) {
  return Math.min(60_000 * 2 ** (attempt - 1), 3_600_000)
}

/**
 * Deliveries one run makes: each is one fetch of at most WEBHOOK_TIMEOUT_MS
 * and two or three D1 queries, so a backlog drains over a few runs instead of
 * one run outgrowing its invocation (subrequests, wall time).
 */
export const WEBHOOK_BATCH = 25
const WEBHOOK_TIMEOUT_MS = 10_000

export const SIGNATURE_HEADER = 'Mamori-Signature'
export const ALERT_ID_HEADER = 'Mamori-Alert-Id'

/** Whether an alert webhook is configured (ALERT_WEBHOOK_URL; empty: off, and nothing is queued for it). */
export function webhookConfigured(env: Pick<Env, 'ALERT_WEBHOOK_URL'>): boolean {
  return (env.ALERT_WEBHOOK_URL ?? '').trim() !== ''
}

/** The write that queues one webhook delivery, due at once, to commit with the event that records the alert. */
export function queueWebhook(db: Database, alert: { id: string; tenantId: string | null; kind: string; payload: string }, now = Date.now()): SqlWrite {
  const at = isoNow(now)
  return db
    .insert(alertOutbox)
    .values({ id: alert.id, tenantId: alert.tenantId, kind: alert.kind, payload: alert.payload, status: 'queued', nextAttemptAt: at, createdAt: at })
    .toSQL()
}

/**
 * The `Mamori-Signature` header of a body: `t=<unix seconds>,v1=<hex HMAC-SHA-256
 * of "<t>.<body>">` under alertWebhookKey(). The receiver recomputes it over
 * the raw body and refuses stale timestamps, so a delivery can be neither
 * forged nor replayed later.
 */
export async function signWebhook(env: Pick<Env, 'DB' | 'MASTER_KEY'>, body: string, unixSeconds: number): Promise<string> {
  const mac = await crypto.subtle.sign('HMAC', await alertWebhookKey(env), utf8(`${unixSeconds}.${body}`))
  return `t=${unixSeconds},v1=${toHex(mac)}`
}

export type WebhookDelivery = { sent: number; failed: number; gaveUp: number }

/**
 * Delivers due webhook alerts: the given ids (right after queueing), or
 * everything due by `now` (the cron), at most WEBHOOK_BATCH per run, oldest
 * first. Each alert is claimed before it is sent by counting the attempt and
 * moving its next attempt out by the backoff, so a request's prompt delivery
 * and the cron never both send it, and an attempt cut off midway is simply
 * retried later. A 2xx answer delivers it; anything else (an error status, a
 * redirect, which is not followed, a timeout) is retried with backoff, and
 * after WEBHOOK_MAX_ATTEMPTS the alert is given up on, which is logged and
 * recorded on the platform audit chain for the operators to see.
 */
export async function deliverAlertWebhooks(
  env: Env,
  db: Database,
  { ids, now = Date.now() }: { ids?: string[]; now?: number } = {},
): Promise<WebhookDelivery> {
  const result = { sent: 0, failed: 0, gaveUp: 0 }
  if (!webhookConfigured(env) || ids?.length === 0) return result
  const rows = await db
    .select()
    .from(alertOutbox)
    .where(
      and(
        eq(alertOutbox.status, 'queued'),
        lte(alertOutbox.nextAttemptAt, isoNow(now)),
        ids ? inArray(alertOutbox.id, jsonList(ids)) : undefined,
      ),
    )
    .orderBy(alertOutbox.nextAttemptAt)
    .limit(WEBHOOK_BATCH)
  for (const row of rows) {
    const attempts = row.attempts + 1
    const claimed = await db
      .update(alertOutbox)
      .set({ attempts, nextAttemptAt: isoNow(now + webhookBackoffMs(attempts)) })
      .where(and(eq(alertOutbox.id, row.id), eq(alertOutbox.status, 'queued'), eq(alertOutbox.attempts, row.attempts)))
      .returning({ id: alertOutbox.id })
    if (claimed.length === 0) continue
    const error = await post(env, row.id, row.payload)
    if (error === null) {
      await db.update(alertOutbox).set({ status: 'sent', sentAt: isoNow(), lastError: null }).where(eq(alertOutbox.id, row.id))
      result.sent++
    } else if (attempts < WEBHOOK_MAX_ATTEMPTS) {
      await db.update(alertOutbox).set({ lastError: error }).where(eq(alertOutbox.id, row.id))
      result.failed++
    } else {
      await giveUp(env, db, row, attempts, error)
      result.gaveUp++
    }
  }
  return result
}

/** One POST to the receiver; null when it answered 2xx, else why not (no secrets: a status or an error's message). */
async function post(env: Env, id: string, body: string): Promise<string | null> {
  try {
    const res = await fetch(env.ALERT_WEBHOOK_URL.trim(), {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'User-Agent': `Mamori-Alerts/${env.APP_VERSION}`,
        [ALERT_ID_HEADER]: id,
        [SIGNATURE_HEADER]: await signWebhook(env, body, Math.floor(Date.now() / 1000)),
      },
      body,
      // A receiver that redirects is misconfigured (or moved): the alert is not sent somewhere no one configured.
      redirect: 'manual',
      signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
    })
    await res.body?.cancel()
    return res.status >= 200 && res.status < 300 ? null : `HTTP ${res.status}`
  } catch (error) {
    return (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 200)
  }
}

/** The last attempt failed: the alert is marked failed in the same transaction as the event that says so. */
async function giveUp(env: Env, db: Database, row: typeof alertOutbox.$inferSelect, attempts: number, error: string) {
  console.error(JSON.stringify({ level: 'error', msg: 'alert webhook gave up', alert_id: row.id, kind: row.kind, tenant_id: row.tenantId, attempts, error }))
  await audit(
    env,
    { requestId: `alert-webhook:${row.id}`, ip: null, userAgent: null },
    {
      tenantId: null,
      actor: { type: 'system', id: 'alert-webhook' },
      action: 'security.alert_undelivered',
      target: { type: 'alert', id: row.id },
      outcome: 'failure',
      details: { kind: row.kind, tenant_id: row.tenantId, attempts, last_error: error },
    },
    [db.update(alertOutbox).set({ status: 'failed', lastError: error }).where(eq(alertOutbox.id, row.id)).toSQL()],
  )
}
