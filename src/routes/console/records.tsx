/** @jsxImportSource hono/jsx */
import { Hono } from 'hono'
import { database } from '../../db/client'
import { Problem } from '../../lib/problem'
import { parseStrictJson } from '../../lib/strict-json'
import { ListQuerySchema } from '../../schemas/common'
import { RecordInputSchema, RecordListQuerySchema, type TenantRecord } from '../../schemas/records'
import { createRecord, deleteRecord, getRecord, listRecords, updateRecord } from '../../services/data/records'
import { Field, Flash, Pager, PostForm, Table, TextArea, Time, type FlashMessage } from '../../views/components'
import { Layout, type PageContext } from '../../views/layout'
import { requestMeta, tenantCaller } from '../context'
import { consoleSession, html, problemFlash, text, type ConsoleContext, type ConsoleEnv } from './kit/page'
import { invalidFormProblem } from './kit/validate'

const read = consoleSession('tenant', { permission: 'records:read' })
const write = consoleSession('tenant', { permission: 'records:write' })
const PREVIEW_CHARS = 160

type Values = { collection?: string; data?: string }

/** The typed JSON as the API would read it: strictly (no duplicate keys), then the API's record schema. */
function recordInput(values: Values) {
  const json = parseStrictJson(values.data ?? '')
  if (!json.ok) {
    const message = json.reason === 'syntax' ? 'Not valid JSON.' : `The key ${JSON.stringify(json.key)} appears twice.`
    throw Problem.validation([{ path: 'data', message }], 'The data is not a JSON object the API would accept.')
  }
  const parsed = RecordInputSchema.safeParse({ collection: (values.collection ?? '').trim(), data: json.value })
  if (!parsed.success) throw invalidFormProblem(parsed.error)
  return parsed.data
}

function canWrite(page: PageContext) {
  return page.viewer!.permissions.includes('records:write')
}

function RecordForm({ page, action, values, submit, idPrefix }: { page: PageContext; action: string; values?: Values; submit: string; idPrefix: string }) {
  const { t } = page
  return (
    <PostForm action={action} csrf={page.viewer!.csrf} class="stack">
      <Field label={t('records.collection')} name="collection" required value={values?.collection} idPrefix={idPrefix} hint={t('records.collectionHint')} />
      <TextArea label={t('records.data')} name="data" required value={values?.data ?? '{\n  \n}'} rows={8} idPrefix={idPrefix} mono hint={t('records.dataHint')} />
      <div>
        <button type="submit">{submit}</button>
      </div>
    </PostForm>
  )
}

async function listPage(c: ConsoleContext, extra: { flash?: FlashMessage | null; values?: Values } = {}, status = 200) {
  const page = c.var.page
  const { t } = page
  const collection = (c.req.query('collection') ?? '').trim()
  const cursor = c.req.query('cursor')
  const query = ListQuerySchema.extend(RecordListQuerySchema.shape).safeParse({ ...(collection ? { collection } : {}), ...(cursor ? { cursor } : {}) })
  if (!query.success) throw invalidFormProblem(query.error)
  const list = await listRecords(database(c.env), c.var.principal.tenantId!, query.data)
  const params = new URLSearchParams(collection ? { collection } : {})
  return html(
    c,
    <Layout page={page} title={t('records.title')}>
      <Flash flash={extra.flash} />
      <form method="get" action="/console/records" role="search" class="filters" aria-label={t('records.filter')}>
        <Field label={t('records.collection')} name="collection" value={collection} idPrefix="filter" />
        <div class="actions">
          <button type="submit">{t('audit.apply')}</button>
          <a href="/console/records">{t('audit.clear')}</a>
        </div>
      </form>
      <Table<TenantRecord>
        caption={t('records.title')}
        empty={t('common.none')}
        rows={list.items}
        columns={[
          { label: t('records.id'), cell: (r) => <a class="mono" href={`/console/records/${r.id}`}>{r.id}</a> },
          { label: t('records.collection'), cell: (r) => r.collection, nowrap: true },
          { label: t('records.data'), cell: (r) => <code>{preview(r.data)}</code> },
          { label: t('records.updated'), cell: (r) => <Time iso={r.updated_at} />, nowrap: true },
        ]}
      />
      <Pager t={t} base="/console/records" params={params} next={list.next_cursor} hasCursor={!!cursor} />
      {canWrite(page) ? (
        <section aria-labelledby="create">
          <h2 id="create">{t('records.create')}</h2>
          <RecordForm page={page} action="/console/records" values={extra.values ?? { collection }} submit={t('records.create')} idPrefix="new" />
        </section>
      ) : null}
    </Layout>,
    status,
  )
}

function preview(data: Record<string, unknown>) {
  const json = JSON.stringify(data)
  return json.length > PREVIEW_CHARS ? `${json.slice(0, PREVIEW_CHARS)}…` : json
}

async function detail(c: ConsoleContext, id: string, extra: { flash?: FlashMessage | null; values?: Values } = {}, status = 200) {
  const page = c.var.page
  const { t } = page
  const record = await getRecord(database(c.env), c.var.principal.tenantId!, id)
  const values = extra.values ?? { collection: record.collection, data: JSON.stringify(record.data, null, 2) }
  return html(
    c,
    <Layout page={page} title={`${t('records.detail')}: ${record.id}`}>
      <Flash flash={extra.flash} />
      <dl class="facts">
        <dt>{t('records.createdAt')}</dt>
        <dd>
          <Time iso={record.created_at} /> · <span class="mono">{record.created_by}</span>
        </dd>
        <dt>{t('records.updated')}</dt>
        <dd>
          <Time iso={record.updated_at} /> · <span class="mono">{record.updated_by}</span>
        </dd>
      </dl>
      {canWrite(page) ? (
        <>
          <RecordForm page={page} action={`/console/records/${record.id}`} values={values} submit={t('users.save')} idPrefix="edit" />
          <h2>{t('common.actions')}</h2>
          <PostForm action={`/console/records/${record.id}/delete`} csrf={page.viewer!.csrf} class="inline">
            <button type="submit" class="danger">
              {t('records.delete')}
            </button>
          </PostForm>
        </>
      ) : (
        <pre class="mono">{values.data}</pre>
      )}
      <p>
        <a href={`/console/records?${new URLSearchParams({ collection: record.collection })}`}>{t('common.back')}</a>
      </p>
    </Layout>,
    status,
  )
}

export const recordPages = new Hono<ConsoleEnv>({ strict: true })

recordPages.get('/console/records', read, (c) => {
  const done = c.req.query('done')
  const flash = done === 'deleted' ? ({ kind: 'ok', text: c.var.page.t('records.deleted') } as const) : null
  return listPage(c, { flash })
})

recordPages.post('/console/records', write, async (c) => {
  const values = { collection: text(c.var.form, 'collection'), data: text(c.var.form, 'data') }
  try {
    const created = await createRecord(c.env, database(c.env), tenantCaller(c as never), recordInput(values), requestMeta(c))
    return c.redirect(`/console/records/${created.id}?done=created`, 303)
  } catch (error) {
    return listPage(c, { flash: problemFlash(c.var.page.t, error), values }, (error as { status: number }).status)
  }
})

recordPages.get('/console/records/:id', read, (c) => {
  const done = c.req.query('done')
  const flash = done === 'created' || done === 'saved' ? ({ kind: 'ok', text: c.var.page.t(`records.${done}`) } as const) : null
  return detail(c, c.req.param('id'), { flash })
})

recordPages.post('/console/records/:id', write, async (c) => {
  const id = c.req.param('id')
  const values = { collection: text(c.var.form, 'collection'), data: text(c.var.form, 'data') }
  try {
    await updateRecord(c.env, database(c.env), tenantCaller(c as never), id, recordInput(values), requestMeta(c))
    return c.redirect(`/console/records/${id}?done=saved`, 303)
  } catch (error) {
    return detail(c, id, { flash: problemFlash(c.var.page.t, error), values }, (error as { status: number }).status)
  }
})

recordPages.post('/console/records/:id/delete', write, async (c) => {
  await deleteRecord(c.env, database(c.env), tenantCaller(c as never), c.req.param('id'), requestMeta(c))
  return c.redirect('/console/records?done=deleted', 303)
})
