/** @jsxImportSource hono/jsx */
import { Hono } from 'hono'
import { database } from '../../../db/client'
import { AnnouncementCreateSchema, type Announcement } from '../../../schemas/operations'
import { createAnnouncement, listAnnouncements } from '../../../services/operations/announcements'
import { Field, Flash, Pager, PostForm, Select, Table, TextArea, Time, type FlashMessage } from '../../../views/components'
import { Layout, type PageContext } from '../../../views/layout'
import { actorOf, defer, requestMeta } from '../../context'
import { jstLocalToIso } from '../kit/jst'
import { consoleSession, html, problemFlash, text, type ConsoleContext, type ConsoleEnv } from '../kit/page'
import { invalidFormProblem } from '../kit/validate'

const PAGE_SIZE = 50
const signedIn = consoleSession('ops')
const KINDS = ['notice', 'upgrade', 'end_of_service'] as const

type Values = { kind?: string; effective_at?: string; subject?: string; body?: string }

function CreateForm({ page, values }: { page: PageContext; values?: Values }) {
  const { t } = page
  return (
    <section aria-labelledby="create">
      <h2 id="create">{t('ops.announcements.create')}</h2>
      <PostForm action="/ops/console/announcements" csrf={page.viewer!.csrf} class="stack">
        <Select label={t('ops.announcements.kind')} name="kind" value={values?.kind ?? 'notice'} idPrefix="new" options={KINDS.map((k) => ({ value: k, label: t(`ops.announcements.kind.${k}`) }))} />
        <Field label={t('ops.announcements.effectiveAt')} name="effective_at" type="datetime-local" required value={values?.effective_at} idPrefix="new" hint={t('ops.announcements.leadHint')} />
        <Field label={t('ops.announcements.subject')} name="subject" required value={values?.subject} idPrefix="new" />
        <TextArea label={t('ops.announcements.body')} name="body" required value={values?.body} rows={6} idPrefix="new" hint={t('ops.announcements.bodyHint')} />
        <div>
          <button type="submit">{t('ops.announcements.create')}</button>
        </div>
      </PostForm>
    </section>
  )
}

async function listPage(c: ConsoleContext, extra: { flash?: FlashMessage | null; values?: Values } = {}, status = 200) {
  const page = c.var.page
  const { t } = page
  const cursor = c.req.query('cursor')
  const list = await listAnnouncements(database(c.env), { limit: PAGE_SIZE, cursor })
  return html(
    c,
    <Layout page={page} title={t('ops.announcements.title')}>
      <Flash flash={extra.flash} />
      <Table<Announcement>
        caption={t('ops.announcements.title')}
        empty={t('common.none')}
        rows={list.items}
        columns={[
          { label: t('ops.announcements.effectiveAt'), cell: (a) => <Time iso={a.effective_at} />, nowrap: true },
          { label: t('ops.announcements.kind'), cell: (a) => t(`ops.announcements.kind.${a.kind}`), nowrap: true },
          { label: t('ops.announcements.subject'), cell: (a) => a.subject },
          { label: t('ops.announcements.body'), cell: (a) => <span class="pre">{a.body}</span> },
          {
            label: t('ops.announcements.notice'),
            cell: (a) => (a.notice ? t('ops.announcements.progress', { status: a.notice.status, tenants: a.notice.tenants_notified, mails: a.notice.mails_queued }) : '–'),
          },
          { label: t('ops.announcements.createdAt'), cell: (a) => <Time iso={a.created_at} />, nowrap: true },
        ]}
      />
      <Pager t={t} base="/ops/console/announcements" params={new URLSearchParams(cursor ? { cursor } : {})} next={list.next_cursor} hasCursor={!!cursor} />
      <CreateForm page={page} values={extra.values} />
    </Layout>,
    status,
  )
}

export const announcementPages = new Hono<ConsoleEnv>({ strict: true })

announcementPages.get('/ops/console/announcements', signedIn, (c) =>
  listPage(c, { flash: c.req.query('done') === 'created' ? { kind: 'ok', text: c.var.page.t('ops.announcements.created') } : null }),
)

announcementPages.post('/ops/console/announcements', signedIn, async (c) => {
  const form = c.var.form
  const values: Values = { kind: text(form, 'kind'), effective_at: text(form, 'effective_at'), subject: text(form, 'subject'), body: text(form, 'body') }
  try {
    const parsed = AnnouncementCreateSchema.safeParse({ ...values, effective_at: jstLocalToIso(values.effective_at!) })
    if (!parsed.success) throw invalidFormProblem(parsed.error)
    await createAnnouncement(c.env, database(c.env), parsed.data, actorOf(c as never), requestMeta(c), defer(c as never))
    return c.redirect('/ops/console/announcements?done=created', 303)
  } catch (error) {
    return listPage(c, { flash: problemFlash(c.var.page.t, error), values }, (error as { status: number }).status)
  }
})
