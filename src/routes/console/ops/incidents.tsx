/** @jsxImportSource hono/jsx */
import { Hono } from 'hono'
import { database } from '../../../db/client'
import { IncidentCreateSchema, IncidentPatchSchema, type Incident } from '../../../schemas/operations'
import { listIncidents, openIncident, updateIncident } from '../../../services/operations/incidents'
import { Field, Flash, Pager, PostForm, Select, TextArea, type FlashMessage } from '../../../views/components'
import { IncidentCard } from '../../../views/incident'
import { Layout, type PageContext } from '../../../views/layout'
import { actorOf, defer, requestMeta } from '../../context'
import { consoleSession, html, problemFlash, text, type ConsoleContext, type ConsoleEnv } from '../kit/page'
import { invalidFormProblem } from '../kit/validate'

const PAGE_SIZE = 20
const signedIn = consoleSession('ops')
const SEVERITIES = ['minor', 'major', 'critical'] as const

type Values = { title?: string; description?: string; severity?: string; tenant_ids?: string }

function OpenForm({ page, values }: { page: PageContext; values?: Values }) {
  const { t } = page
  return (
    <section aria-labelledby="open">
      <h2 id="open">{t('ops.incidents.open')}</h2>
      <PostForm action="/ops/console/incidents" csrf={page.viewer!.csrf} class="stack">
        <Field label={t('ops.incidents.titleField')} name="title" required value={values?.title} idPrefix="new" />
        <TextArea label={t('ops.incidents.description')} name="description" required value={values?.description} idPrefix="new" />
        <Select label={t('ops.incidents.severity')} name="severity" value={values?.severity ?? 'major'} idPrefix="new" options={SEVERITIES.map((s) => ({ value: s, label: t(`ops.incidents.severity.${s}`) }))} />
        <Field label={t('ops.incidents.tenants')} name="tenant_ids" value={values?.tenant_ids} idPrefix="new" hint={t('ops.incidents.tenantsHint')} autocomplete="off" />
        <div>
          <button type="submit">{t('ops.incidents.open')}</button>
        </div>
      </PostForm>
    </section>
  )
}

function OperatorIncidentCard({ page, incident }: { page: PageContext; incident: Incident }) {
  const { t } = page
  const csrf = page.viewer!.csrf
  const base = `/ops/console/incidents/${incident.id}`
  const open = incident.status === 'investigating'
  const facts = (
    <>
      <dt>{t('ops.incidents.scope')}</dt>
      <dd>{incident.tenant_ids ? <span class="mono">{incident.tenant_ids.join(', ')}</span> : t('ops.windows.allTenants')}</dd>
      <dt>{t('ops.incidents.source')}</dt>
      <dd>{incident.source}{incident.failed_check ? ` (${incident.failed_check})` : ''}</dd>
    </>
  )
  return (
    <IncidentCard page={page} incident={incident} facts={facts}>
      <div class="actions">
        <PostForm action={`${base}/update`} csrf={csrf} class="stack">
          <TextArea label={t('ops.incidents.update')} name="update" required rows={2} idPrefix={incident.id} />
          <div class="actions">
            <button type="submit" name="status" value="" class="secondary">
              {t('ops.incidents.addUpdate')}
            </button>
            {open ? (
              <button type="submit" name="status" value="resolved">
                {t('ops.incidents.resolve')}
              </button>
            ) : null}
          </div>
        </PostForm>
      </div>
    </IncidentCard>
  )
}

async function listPage(c: ConsoleContext, extra: { flash?: FlashMessage | null; values?: Values } = {}, status = 200) {
  const page = c.var.page
  const { t } = page
  const cursor = c.req.query('cursor')
  const list = await listIncidents(database(c.env), { limit: PAGE_SIZE, cursor })
  return html(
    c,
    <Layout page={page} title={t('ops.incidents.title')}>
      <Flash flash={extra.flash} />
      <OpenForm page={page} values={extra.values} />
      <h2>{t('ops.incidents.list')}</h2>
      {list.items.length ? list.items.map((i) => <OperatorIncidentCard page={page} incident={i} />) : <p>{t('common.none')}</p>}
      <Pager t={t} base="/ops/console/incidents" params={new URLSearchParams(cursor ? { cursor } : {})} next={list.next_cursor} hasCursor={!!cursor} />
    </Layout>,
    status,
  )
}

export const incidentPages = new Hono<ConsoleEnv>({ strict: true })

incidentPages.get('/ops/console/incidents', signedIn, (c) => {
  const done = c.req.query('done')
  const flash = done === 'opened' || done === 'updated' ? ({ kind: 'ok', text: c.var.page.t(`ops.incidents.${done}`) } as const) : null
  return listPage(c, { flash })
})

incidentPages.post('/ops/console/incidents', signedIn, async (c) => {
  const form = c.var.form
  const values: Values = { title: text(form, 'title'), description: text(form, 'description'), severity: text(form, 'severity'), tenant_ids: text(form, 'tenant_ids') }
  const tenantIds = values.tenant_ids!.split(/[\s,]+/).filter(Boolean)
  try {
    const parsed = IncidentCreateSchema.safeParse({ title: values.title, description: values.description, severity: values.severity, ...(tenantIds.length ? { tenant_ids: tenantIds } : {}) })
    if (!parsed.success) throw invalidFormProblem(parsed.error)
    await openIncident(c.env, database(c.env), parsed.data, actorOf(c as never), requestMeta(c), { defer: defer(c as never) })
    return c.redirect('/ops/console/incidents?done=opened', 303)
  } catch (error) {
    return listPage(c, { flash: problemFlash(c.var.page.t, error), values }, (error as { status: number }).status)
  }
})

/** One form for both: an update on its own, or (the resolve button) the update that resolves it. */
incidentPages.post('/ops/console/incidents/:id/update', signedIn, async (c) => {
  const form = c.var.form
  const status = text(form, 'status')
  const update = text(form, 'update')
  try {
    const parsed = IncidentPatchSchema.safeParse({ ...(status ? { status } : {}), ...(update.trim() ? { update } : {}) })
    if (!parsed.success) throw invalidFormProblem(parsed.error)
    await updateIncident(c.env, database(c.env), c.req.param('id'), parsed.data, actorOf(c as never), requestMeta(c), defer(c as never))
    return c.redirect('/ops/console/incidents?done=updated', 303)
  } catch (error) {
    return listPage(c, { flash: problemFlash(c.var.page.t, error) }, (error as { status: number }).status)
  }
})
