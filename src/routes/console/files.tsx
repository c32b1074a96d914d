/** @jsxImportSource hono/jsx */
import { Hono } from 'hono'
import { database } from '../../db/client'
import { bodyLimit } from '../../middleware/body-limit'
import { Problem } from '../../lib/problem'
import { FileNameParamSchema } from '../../schemas/files'
import { FILE_MAX_BYTES, deleteFile, downloadFile, listFiles, putFile, toFile } from '../../services/data/files'
import { Field, FileField, Flash, Pager, PostForm, Table, Time, type FlashMessage } from '../../views/components'
import { Layout, type PageContext } from '../../views/layout'
import { fileHeaders } from '../files/files.handlers'
import { requestMeta, tenantCaller } from '../context'
import { bytes } from './kit/format'
import { consoleSession, html, problemFlash, text, type ConsoleContext, type ConsoleEnv } from './kit/page'
import { invalidFormProblem } from './kit/validate'

type StoredFile = ReturnType<typeof toFile>

const PAGE_SIZE = 50
/** Room for the multipart framing and the other fields around a file of the largest size. */
export const UPLOAD_FORM_MAX_BYTES = FILE_MAX_BYTES + 64 * 1024

const read = consoleSession('tenant', { permission: 'files:read' })
const write = consoleSession('tenant', { permission: 'files:write' })

function has(page: PageContext, permission: string) {
  return page.viewer!.permissions.includes(permission)
}

async function listPage(c: ConsoleContext, flash: FlashMessage | null = null, status = 200) {
  const page = c.var.page
  const { t } = page
  const csrf = page.viewer!.csrf
  const cursor = c.req.query('cursor')
  const list = await listFiles(database(c.env), c.var.principal.tenantId!, PAGE_SIZE, cursor)
  const download = has(page, 'download')
  const writes = has(page, 'files:write')
  return html(
    c,
    <Layout page={page} title={t('files.title')}>
      <Flash flash={flash} />
      <Table<StoredFile>
        caption={t('files.title')}
        empty={t('common.none')}
        rows={list.items}
        columns={[
          { label: t('files.name'), cell: (f) => (download ? <a href={`/console/files/${f.id}/download`} download>{f.name}</a> : f.name) },
          { label: t('files.size'), cell: (f) => bytes(f.size_bytes), num: true, nowrap: true },
          { label: t('files.type'), cell: (f) => <span class="mono">{f.content_type}</span> },
          { label: t('files.uploaded'), cell: (f) => <Time iso={f.created_at} />, nowrap: true },
          { label: t('files.sha256'), cell: (f) => <span class="mono">{f.sha256.slice(0, 16)}…</span> },
          ...(writes
            ? [
                {
                  label: t('common.actions'),
                  cell: (f: StoredFile) => (
                    <PostForm action={`/console/files/${f.id}/delete`} csrf={csrf} class="inline">
                      <button type="submit" class="secondary" aria-label={`${t('files.delete')} ${f.name}`}>
                        {t('files.delete')}
                      </button>
                    </PostForm>
                  ),
                },
              ]
            : []),
        ]}
      />
      {download ? null : <p class="hint">{t('files.noDownload')}</p>}
      <Pager t={t} base="/console/files" params={new URLSearchParams(cursor ? { cursor } : {})} next={list.next_cursor} hasCursor={!!cursor} />
      {writes ? (
        <section aria-labelledby="upload">
          <h2 id="upload">{t('files.upload')}</h2>
          <PostForm action="/console/files" csrf={csrf} class="stack" multipart>
            <FileField label={t('files.file')} name="file" required idPrefix="up" hint={t('files.maxSize', { size: bytes(FILE_MAX_BYTES) })} />
            <Field label={t('files.saveAs')} name="name" idPrefix="up" hint={t('files.saveAsHint')} autocomplete="off" />
            <div>
              <button type="submit">{t('files.upload')}</button>
            </div>
          </PostForm>
        </section>
      ) : null}
    </Layout>,
    status,
  )
}

/**
 * The parsed form's file as a stream made by the script, holding it in one
 * chunk. The service pipes the body through a runtime transform
 * (FixedLengthStream) and a digest stream; workerd refuses that for a
 * File's own in-memory stream ("Inter-TransformStream pipeTo"), not for this.
 */
async function uploadStream(file: File): Promise<ReadableStream<Uint8Array>> {
  const bytes = new Uint8Array(await file.arrayBuffer())
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(bytes)
      controller.close()
    },
  })
}

export const filePages = new Hono<ConsoleEnv>({ strict: true })

filePages.get('/console/files', read, (c) => {
  const done = c.req.query('done')
  const t = c.var.page.t
  const flash = done === 'uploaded' ? ({ kind: 'ok', text: t('files.uploadedDone') } as const) : done === 'replaced' ? ({ kind: 'ok', text: t('files.replacedDone') } as const) : done === 'deleted' ? ({ kind: 'ok', text: t('files.deleted') } as const) : null
  return listPage(c, flash)
})

/**
 * The multipart form's file, stored by the same service as PUT
 * /api/v1/files/{name}: its name rules, size cap, storage quota and audit.
 * The app-wide 1 MiB body cap does not apply here (app.ts); this route's own
 * cap is the file limit plus the form around it.
 */
filePages.post('/console/files', bodyLimit({ maxBytes: UPLOAD_FORM_MAX_BYTES }), write, async (c) => {
  try {
    const file = c.var.form.file
    if (!(file instanceof File)) throw Problem.validation([{ path: 'file', message: 'Choose a file to upload.' }], 'No file was chosen.')
    const name = text(c.var.form, 'name').trim() || file.name
    const parsed = FileNameParamSchema.safeParse({ file: name })
    if (!parsed.success) throw invalidFormProblem(parsed.error)
    const { replaced } = await putFile(
      c.env,
      database(c.env),
      tenantCaller(c as never),
      { name: parsed.data.file, body: await uploadStream(file), length: file.size, contentType: (file.type || 'application/octet-stream').slice(0, 200) },
      requestMeta(c),
    )
    return c.redirect(`/console/files?done=${replaced ? 'replaced' : 'uploaded'}`, 303)
  } catch (error) {
    return listPage(c, problemFlash(c.var.page.t, error), (error as { status: number }).status)
  }
})

/** Only with `download`, as GET /api/v1/files/{id}: audited as an extraction, and a download that can never render here. */
filePages.get('/console/files/:id/download', consoleSession('tenant', { permission: 'download' }), async (c) => {
  const { file, body } = await downloadFile(c.env, database(c.env), tenantCaller(c as never), c.req.param('id'), requestMeta(c))
  return c.body(body, 200, fileHeaders(file))
})

filePages.post('/console/files/:id/delete', write, async (c) => {
  await deleteFile(c.env, database(c.env), tenantCaller(c as never), c.req.param('id'), requestMeta(c))
  return c.redirect('/console/files?done=deleted', 303)
})
