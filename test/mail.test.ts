import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { database } from '../src/db/client'
import { deliverMail, deliversMail, queueMail } from '../src/services/mail/mail'

/**
 * Mail delivery through the outbox. The production transport is the MAIL
 * send_email binding; here a recording stand-in takes its place (the outbox,
 * D1, is real), so what production does to the rows can be observed.
 */
type Sent = { from: string; to: string }

function productionEnv(send: (message: Sent) => Promise<void>, environment = 'production'): Env {
  return { ...env, ENVIRONMENT: environment, MAIL: { send } as unknown as SendEmail }
}

async function queue(mail: Parameters<typeof queueMail>[1]) {
  const db = database(env)
  const { id, write } = queueMail(db, mail)
  await env.DB.prepare(write.sql).bind(...write.params).run()
  return id
}

async function row(id: string) {
  return env.DB.prepare('SELECT subject, body, status, attempts, last_error FROM mail_outbox WHERE id = ?').bind(id).first<{
    subject: string
    body: string
    status: string
    attempts: number
    last_error: string | null
  }>()
}

describe('mail delivery', () => {
  it('sends through the binding and blanks a delivered one-time code in the outbox', async () => {
    const sent: Sent[] = []
    const code = await queue({ tenantId: null, to: 'a@example.com', subject: 'Code: 123456', body: 'Your code is 123456.', sensitive: true })
    const notice = await queue({ tenantId: null, to: 'b@example.com', subject: 'Notice', body: 'Hello.' })
    const result = await deliverMail(productionEnv(async (m) => void sent.push({ from: m.from, to: m.to })), database(env), [code, notice])
    expect(result).toEqual({ sent: 2, failed: 0 })
    expect(sent.map((m) => m.to).sort()).toEqual(['a@example.com', 'b@example.com'])
    expect(await row(code)).toMatchObject({ subject: '(one-time code)', body: '(removed after delivery)', status: 'sent', attempts: 1 })
    expect(await row(notice)).toMatchObject({ subject: 'Notice', body: 'Hello.', status: 'sent' })
  })

  it('sends a mail once even when two deliveries run at the same time', async () => {
    const sent: string[] = []
    const id = await queue({ tenantId: null, to: 'once@example.com', subject: 'Once', body: 'Once.' })
    const transport = productionEnv(async (m) => void sent.push(m.to))
    await Promise.all([deliverMail(transport, database(env), [id]), deliverMail(transport, database(env), [id])])
    expect(sent).toEqual(['once@example.com'])
  })

  it('puts a failed mail back in the queue, and gives up after five attempts', async () => {
    const id = await queue({ tenantId: null, to: 'down@example.com', subject: 'Retry', body: 'Retry.', sensitive: true })
    const failing = productionEnv(async () => {
      throw new Error('relay unavailable')
    })
    expect(await deliverMail(failing, database(env), [id])).toEqual({ sent: 0, failed: 1 })
    expect(await row(id)).toMatchObject({ status: 'queued', attempts: 1, body: 'Retry.', last_error: 'Error: relay unavailable' })
    for (let i = 0; i < 4; i++) await deliverMail(failing, database(env), [id])
    // Given up on, the one-time code does not stay readable either.
    expect(await row(id)).toMatchObject({ status: 'failed', attempts: 5, subject: '(one-time code)', body: '(removed after delivery)' })
  })

  it('sends for real in staging, or under any name but development and test', async () => {
    for (const environment of ['staging', 'production-eu', 'Development']) {
      const sent: Sent[] = []
      const code = await queue({ tenantId: null, to: 'stage@example.com', subject: 'Code: 111222', body: 'Your code is 111222.', sensitive: true })
      const result = await deliverMail(productionEnv(async (m) => void sent.push({ from: m.from, to: m.to }), environment), database(env), [code])
      expect([environment, result, sent]).toEqual([environment, { sent: 1, failed: 0 }, [{ from: env.MAIL_FROM, to: 'stage@example.com' }]])
      expect(await row(code)).toMatchObject({ subject: '(one-time code)', body: '(removed after delivery)', status: 'sent', attempts: 1 })
    }
    expect(['production', 'staging', 'development', 'test'].map((ENVIRONMENT) => deliversMail({ ENVIRONMENT }))).toEqual([true, true, false, false])
  })

  it('keeps the outbox as the mailbox in the test environment: nothing leaves, the code stays readable', async () => {
    expect(env.ENVIRONMENT).toBe('test')
    const sent: string[] = []
    const id = await queue({ tenantId: null, to: 'suite@example.com', subject: 'Code: 333444', body: 'Your code is 333444.', sensitive: true })
    expect(await deliverMail(productionEnv(async (m) => void sent.push(m.to), 'test'), database(env), [id])).toEqual({ sent: 1, failed: 0 })
    expect(sent).toEqual([])
    expect(await row(id)).toMatchObject({ subject: 'Code: 333444', body: 'Your code is 333444.', status: 'sent' })
  })

  it('delivers a list of 150 ids, 100 per run, with one bound parameter for the list', async () => {
    const sent: string[] = []
    const ids: string[] = []
    for (let i = 0; i < 150; i++) ids.push(await queue({ tenantId: null, to: `bulk-${i}@example.com`, subject: 'Bulk', body: 'Bulk.' }))
    const transport = productionEnv(async (m) => void sent.push(m.to))
    expect(await deliverMail(transport, database(env), ids)).toEqual({ sent: 100, failed: 0 })
    expect(await deliverMail(transport, database(env), ids)).toEqual({ sent: 50, failed: 0 })
    expect(await deliverMail(transport, database(env), ids)).toEqual({ sent: 0, failed: 0 })
    expect(sent.sort()).toEqual(ids.map((_, i) => `bulk-${i}@example.com`).sort())
  })

  it('leaves development mail readable, as the outbox is the mailbox there', async () => {
    const id = await queue({ tenantId: null, to: 'dev@example.com', subject: 'Code: 654321', body: 'Your code is 654321.', sensitive: true })
    await deliverMail({ ...env, ENVIRONMENT: 'development' }, database(env), [id])
    expect(await row(id)).toMatchObject({ subject: 'Code: 654321', status: 'sent' })
  })
})
