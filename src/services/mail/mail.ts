import { and, desc, eq, inArray } from 'drizzle-orm'
import type { Database } from '../../db/client'
import { jsonList } from '../../db/json-list'
import { mailOutbox } from '../../db/schema'
import type { SqlWrite } from '../../durable/audit-chain'
import { newId } from '../../lib/ids'
import { plainTextMessage } from '../../lib/mime'
import { isoNow } from '../../lib/time'

export type Mail = {
  tenantId: string | null
  to: string
  subject: string
  body: string
  /** Mails with the same key are queued once (reminders). */
  dedupeKey?: string
  /** Carries a secret (a one-time code): blanked in the outbox once delivered in production. */
  sensitive?: boolean
}

/**
 * The write that queues a mail, to commit in the same transaction as the
 * change that causes it. Returns the new row's id for prompt delivery.
 */
export function queueMail(db: Database, mail: Mail): { id: string; write: SqlWrite } {
  const id = newId('ml')
  const insert = db
    .insert(mailOutbox)
    .values({
      id,
      tenantId: mail.tenantId,
      toAddress: mail.to,
      subject: mail.subject,
      body: mail.body,
      dedupeKey: mail.dedupeKey ?? null,
      sensitive: mail.sensitive ?? false,
      status: 'queued',
      createdAt: isoNow(),
    })
  return { id, write: (mail.dedupeKey ? insert.onConflictDoNothing() : insert).toSQL() }
}

const MAX_ATTEMPTS = 5
/** Mails one delivery run handles: with one claim each (two on failure), a run stays far below D1's 1,000 queries per invocation. */
const DELIVERY_BATCH = 100

/**
 * Where the outbox itself is the mailbox and nothing leaves: development
 * (GET /dev/mailbox) and the test suite (which reads codes from the outbox).
 * Every other environment (production, staging, any new name) delivers for real.
 */
const OUTBOX_ONLY = new Set(['development', 'test'])

/** Whether mail in this environment really leaves through the MAIL binding. */
export function deliversMail(env: Pick<Env, 'ENVIRONMENT'>): boolean {
  return !OUTBOX_ONLY.has(env.ENVIRONMENT)
}

const BLANKED = { subject: '(one-time code)', body: '(removed after delivery)' }

/**
 * Delivers queued mail: the given ids, or everything still queued (the
 * cron's retry), at most DELIVERY_BATCH per run. Through the MAIL send_email
 * binding wherever mail really leaves (deliversMail); in development and
 * tests the outbox is the mailbox, so delivery only marks the rows sent.
 * Each mail is claimed atomically first, so a request's prompt delivery and
 * the cron never both send it. A one-time code that leaves does not stay
 * readable in the outbox: the claim blanks it, and only a retry puts it back.
 */
export async function deliverMail(env: Env, db: Database, ids?: string[]) {
  const rows = await db
    .select()
    .from(mailOutbox)
    .where(and(eq(mailOutbox.status, 'queued'), ids ? inArray(mailOutbox.id, jsonList(ids)) : undefined))
    .orderBy(mailOutbox.createdAt)
    .limit(DELIVERY_BATCH)
  const delivers = deliversMail(env)
  let sent = 0
  let failed = 0
  for (const row of rows) {
    const attempts = row.attempts + 1
    const claimed = await db
      .update(mailOutbox)
      .set({ status: 'sent', sentAt: isoNow(), attempts, ...(delivers && row.sensitive ? BLANKED : {}) })
      .where(and(eq(mailOutbox.id, row.id), eq(mailOutbox.status, 'queued')))
      .returning({ id: mailOutbox.id })
    if (claimed.length === 0) continue
    if (!delivers) {
      sent++
      continue
    }
    try {
      const { EmailMessage } = await import('cloudflare:email')
      const raw = plainTextMessage({ from: env.MAIL_FROM, to: row.toAddress, subject: row.subject, body: row.body, messageId: row.id })
      await env.MAIL.send(new EmailMessage(env.MAIL_FROM, row.toAddress, raw))
      sent++
    } catch (error) {
      const retry = attempts < MAX_ATTEMPTS
      await db
        .update(mailOutbox)
        // A retry needs the text back; a mail given up on keeps its one-time code blanked.
        .set({ status: retry ? 'queued' : 'failed', sentAt: null, ...(retry ? { subject: row.subject, body: row.body } : {}), lastError: String(error).slice(0, 500) })
        .where(eq(mailOutbox.id, row.id))
      failed++
    }
  }
  return { sent, failed }
}

/** Development mailbox: what the app sent, newest first. */
export async function listMailbox(db: Database, limit = 50) {
  const rows = await db.select().from(mailOutbox).orderBy(desc(mailOutbox.id)).limit(limit)
  return rows.map((r) => ({ to: r.toAddress, subject: r.subject, text: r.body, sent_at: r.sentAt ?? r.createdAt }))
}
