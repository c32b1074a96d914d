/** @jsxImportSource hono/jsx */
import { Hono } from 'hono'
import { database } from '../../../db/client'
import { MaintenancePutSchema, type MaintenanceFlagView, type MaintenanceOverview } from '../../../schemas/maintenance'
import { maintenanceOverview, setMaintenanceFlag } from '../../../services/operations/maintenance-flags'
import { Field, Flash, PostForm, Table, TextArea, Time, type FlashMessage } from '../../../views/components'
import { Layout, type PageContext } from '../../../views/layout'
import { actorOf, requestMeta } from '../../context'
import { jstLocalToIso } from '../kit/jst'
import { consoleSession, html, problemFlash, text, type ConsoleContext, type ConsoleEnv } from '../kit/page'
import { invalidFormProblem } from '../kit/validate'

const signedIn = consoleSession('ops')

type Values = { scope?: string; tenant_id?: string; message?: string; until?: string }

function stateOf(page: PageContext, flag: MaintenanceFlagView) {
  const { t } = page
  if (flag.in_force) return <span class="status not_met">{t('ops.maint.inForce')}</span>
  if (flag.enabled) return <span class="status not_yet_measured">{t('ops.maint.enabledNotInForce')}</span>
  return <span class="status met">{t('ops.maint.off')}</span>
}

/** The fields of an "on" form; `scope` and `tenant_id` come with the form. */
function OnFields({ page, prefix, values }: { page: PageContext; prefix: string; values?: Values | undefined }) {
  const { t } = page
  return (
    <>
      <input type="hidden" name="enabled" value="true" />
      <TextArea label={t('ops.maint.message')} name="message" value={values?.message} rows={2} idPrefix={prefix} hint={t('ops.maint.messageHint')} />
      <Field label={t('ops.maint.until')} name="until" type="datetime-local" value={values?.until} idPrefix={prefix} hint={t('ops.maint.untilHint')} />
    </>
  )
}

/** A form that turns one flag off. */
export function OffForm({ page, tenantId, label, back }: { page: PageContext; tenantId: string | null; label: string; back?: string }) {
  return (
    <PostForm action="/ops/console/maintenance" csrf={page.viewer!.csrf} class="inline">
      <input type="hidden" name="scope" value={tenantId ? 'tenant' : 'global'} />
      {tenantId ? <input type="hidden" name="tenant_id" value={tenantId} /> : null}
      <input type="hidden" name="enabled" value="false" />
      {back ? <input type="hidden" name="back" value={back} /> : null}
      <button type="submit" class="secondary">
        {label}
      </button>
    </PostForm>
  )
}

/** A form that turns one tenant's flag on, for the tenant's own page. */
export function TenantOnForm({ page, tenantId, back }: { page: PageContext; tenantId: string; back?: string }) {
  return (
    <PostForm action="/ops/console/maintenance" csrf={page.viewer!.csrf} class="stack">
      <input type="hidden" name="scope" value="tenant" />
      <input type="hidden" name="tenant_id" value={tenantId} />
      {back ? <input type="hidden" name="back" value={back} /> : null}
      <OnFields page={page} prefix="tenant-on" />
      <div>
        <button type="submit" class="danger">
          {page.t('ops.maint.turnOnTenant')}
        </button>
      </div>
    </PostForm>
  )
}

function FlagFacts({ page, flag }: { page: PageContext; flag: MaintenanceFlagView }) {
  const { t } = page
  return (
    <dl class="facts">
      <dt>{t('ops.maint.state')}</dt>
      <dd data-testid={`flag-${flag.scope}`}>{stateOf(page, flag)}</dd>
      <dt>{t('ops.maint.message')}</dt>
      <dd class="pre">{flag.message ?? '–'}</dd>
      <dt>{t('ops.maint.until')}</dt>
      <dd>
        <Time iso={flag.until} />
      </dd>
      <dt>{t('ops.maint.updated')}</dt>
      <dd>
        <Time iso={flag.updated_at} /> {flag.updated_by ? <span class="mono">({flag.updated_by})</span> : null}
      </dd>
    </dl>
  )
}

async function overviewPage(c: ConsoleContext, extra: { flash?: FlashMessage | null; values?: Values } = {}, status = 200) {
  const page = c.var.page
  const { t } = page
  const csrf = page.viewer!.csrf
  const overview: MaintenanceOverview = await maintenanceOverview(c.env, database(c.env))
  const values = extra.values
  const done = c.req.query('done')
  const flash = extra.flash ?? (done === 'on' ? { kind: 'ok' as const, text: t('ops.maint.done.on') } : done === 'off' ? { kind: 'ok' as const, text: t('ops.maint.done.off') } : null)
  return html(
    c,
    <Layout page={page} title={t('ops.maint.title')}>
      <Flash flash={flash} />
      <p class="hint">{t('ops.maint.effect')}</p>
      <section aria-labelledby="global">
        <h2 id="global">{t('ops.maint.global')}</h2>
        <FlagFacts page={page} flag={overview.global} />
        {overview.global.enabled ? (
          <OffForm page={page} tenantId={null} label={t('ops.maint.turnOffGlobal')} />
        ) : (
          <PostForm action="/ops/console/maintenance" csrf={csrf} class="stack">
            <input type="hidden" name="scope" value="global" />
            <OnFields page={page} prefix="global" values={values?.scope === 'global' ? values : undefined} />
            <div>
              <button type="submit" class="danger">
                {t('ops.maint.turnOnGlobal')}
              </button>
            </div>
          </PostForm>
        )}
      </section>
      <section aria-labelledby="tenant-flags">
        <h2 id="tenant-flags">{t('ops.maint.tenants')}</h2>
        <Table<MaintenanceFlagView>
          caption={t('ops.maint.tenants')}
          empty={t('ops.maint.none')}
          rows={overview.tenants}
          columns={[
            { label: t('ops.maint.tenantId'), cell: (f) => <a href={`/ops/console/tenants/${f.tenant_id}`} class="mono">{f.tenant_id}</a> },
            { label: t('ops.maint.message'), cell: (f) => f.message ?? '–' },
            { label: t('ops.maint.until'), cell: (f) => <Time iso={f.until} />, nowrap: true },
            { label: t('ops.maint.window'), cell: (f) => (f.window_id ? <span class="mono">{f.window_id}</span> : '–') },
            { label: t('common.actions'), cell: (f) => <OffForm page={page} tenantId={f.tenant_id} label={t('ops.maint.turnOff')} /> },
          ]}
        />
        <h3>{t('ops.maint.turnOnTenant')}</h3>
        <PostForm action="/ops/console/maintenance" csrf={csrf} class="stack">
          <input type="hidden" name="scope" value="tenant" />
          <Field label={t('ops.maint.tenantId')} name="tenant_id" required value={values?.scope === 'tenant' ? values.tenant_id : undefined} idPrefix="tenant" autocomplete="off" hint={t('ops.maint.tenantIdHint')} />
          <OnFields page={page} prefix="tenant" values={values?.scope === 'tenant' ? values : undefined} />
          <div>
            <button type="submit" class="danger">
              {t('ops.maint.turnOnTenant')}
            </button>
          </div>
        </PostForm>
      </section>
      <section aria-labelledby="windows-now">
        <h2 id="windows-now">{t('ops.maint.windows')}</h2>
        <Table<MaintenanceOverview['windows'][number]>
          caption={t('ops.maint.windows')}
          empty={t('common.none')}
          rows={overview.windows}
          columns={[
            { label: t('ops.maint.window'), cell: (w) => <span class="mono">{w.window_id}</span> },
            { label: t('ops.windows.startsAt'), cell: (w) => <Time iso={w.starts_at} />, nowrap: true },
            { label: t('ops.windows.endsAt'), cell: (w) => <Time iso={w.ends_at} />, nowrap: true },
            { label: t('ops.maint.message'), cell: (w) => w.message ?? '–' },
          ]}
        />
      </section>
    </Layout>,
    status,
  )
}

export const maintenancePages = new Hono<ConsoleEnv>({ strict: true })

maintenancePages.get('/ops/console/maintenance', signedIn, (c) => overviewPage(c))

/** Where a flag form goes back to: this page, or the tenant's own page it was sent from. */
function backTo(form: Record<string, unknown>, done: 'on' | 'off') {
  const back = text(form as never, 'back')
  if (/^\/ops\/console\/tenants\/tn_[0-9a-z]{26}$/.test(back)) return `${back}?done=maintenance-${done}`
  return `/ops/console/maintenance?done=${done}`
}

maintenancePages.post('/ops/console/maintenance', signedIn, async (c) => {
  const form = c.var.form
  const scope = text(form, 'scope')
  const enabled = text(form, 'enabled') === 'true'
  const values: Values = { scope, tenant_id: text(form, 'tenant_id').trim(), message: text(form, 'message'), until: text(form, 'until') }
  const input: Record<string, unknown> = { scope, enabled }
  if (scope === 'tenant') input.tenant_id = values.tenant_id
  if (enabled && values.message?.trim()) input.message = values.message.trim()
  if (enabled && values.until?.trim()) input.until = jstLocalToIso(values.until)
  try {
    const parsed = MaintenancePutSchema.safeParse(input)
    if (!parsed.success) throw invalidFormProblem(parsed.error)
    await setMaintenanceFlag(c.env, database(c.env), parsed.data, actorOf(c as never), requestMeta(c))
    return c.redirect(backTo(form, enabled ? 'on' : 'off'), 303)
  } catch (error) {
    return overviewPage(c, { flash: problemFlash(c.var.page.t, error), values }, (error as { status: number }).status)
  }
})
