/** @jsxImportSource hono/jsx */
import { Hono } from 'hono'
import { database } from '../../../db/client'
import { LIMIT_KEYS, LIMIT_MAXIMUMS, type LimitKey } from '../../../schemas/limits'
import { TenantCreateSchema, TenantPatchSchema, type Tenant } from '../../../schemas/tenants'
import { createTenant, getTenant, listPlans, listTenants, updateTenant } from '../../../services/tenancy/tenants'
import { usageOf } from '../../../services/usage/usage'
import { maintenanceOverview } from '../../../services/operations/maintenance-flags'
import { erasureProgress } from '../../../services/tenancy/erasure'
import { supportAccess } from '../../../services/tenancy/support'
import { Problem } from '../../../lib/problem'
import { OffForm, TenantOnForm } from './maintenance'
import { Field, Flash, Pager, PostForm, Select, Table, TemporaryPassword, Time, type FlashMessage } from '../../../views/components'
import { Layout, type PageContext } from '../../../views/layout'
import { actorOf, requestMeta } from '../../context'
import { consoleSession, html, problemFlash, text, type ConsoleContext, type ConsoleEnv } from '../kit/page'
import { invalidFormProblem } from '../kit/validate'

const PAGE_SIZE = 50
const signedIn = consoleSession('ops')

type Plans = Awaited<ReturnType<typeof listPlans>>
type CreateValues = { slug?: string; name?: string; plan?: string; contact_email?: string; admin_email?: string; admin_name?: string }

function planOptions(plans: Plans) {
  return plans.map((p) => ({ value: p.id, label: `${p.name} (${p.id})` }))
}

function CreateForm({ page, plans, values }: { page: PageContext; plans: Plans; values?: CreateValues }) {
  const { t } = page
  return (
    <section aria-labelledby="create">
      <h2 id="create">{t('ops.tenants.create')}</h2>
      <PostForm action="/ops/console/tenants" csrf={page.viewer!.csrf} class="stack">
        <Field label={t('ops.tenants.slug')} name="slug" required value={values?.slug} idPrefix="new" autocomplete="off" hint={t('ops.tenants.slugHint')} />
        <Field label={t('ops.tenants.name')} name="name" required value={values?.name} idPrefix="new" autocomplete="off" />
        <Select label={t('ops.tenants.plan')} name="plan" options={planOptions(plans)} value={values?.plan ?? 'standard'} idPrefix="new" />
        <Field label={t('ops.tenants.contact')} name="contact_email" type="email" required value={values?.contact_email} idPrefix="new" autocomplete="off" />
        <Field label={t('ops.tenants.adminEmail')} name="admin_email" type="email" required value={values?.admin_email} idPrefix="new" autocomplete="off" />
        <Field label={t('ops.tenants.adminName')} name="admin_name" required value={values?.admin_name} idPrefix="new" autocomplete="off" />
        <div>
          <button type="submit">{t('ops.tenants.create')}</button>
        </div>
      </PostForm>
    </section>
  )
}

async function listPage(c: ConsoleContext, extra: { flash?: FlashMessage | null; secret?: string; values?: CreateValues } = {}, status = 200) {
  const page = c.var.page
  const { t } = page
  const db = database(c.env)
  const cursor = c.req.query('cursor')
  const [list, plans] = await Promise.all([listTenants(db, PAGE_SIZE, cursor), listPlans(db)])
  return html(
    c,
    <Layout page={page} title={t('ops.tenants.title')}>
      {c.req.query('done') === 'password' ? <Flash flash={{ kind: 'ok', text: t('password.changed') }} /> : null}
      <Flash flash={extra.flash} />
      <TemporaryPassword t={t} secret={extra.secret} />
      <Table<Tenant>
        caption={t('ops.tenants.title')}
        empty={t('common.none')}
        rows={list.items}
        columns={[
          { label: t('ops.tenants.slug'), cell: (x) => <a href={`/ops/console/tenants/${x.id}`}>{x.slug}</a>, nowrap: true },
          { label: t('ops.tenants.name'), cell: (x) => x.name },
          { label: t('ops.tenants.plan'), cell: (x) => x.plan, nowrap: true },
          { label: t('ops.tenants.status'), cell: (x) => t(`ops.tenants.status.${x.status}`), nowrap: true },
          { label: t('ops.tenants.id'), cell: (x) => <span class="mono">{x.id}</span> },
          { label: t('ops.tenants.createdAt'), cell: (x) => <Time iso={x.created_at} />, nowrap: true },
        ]}
      />
      <Pager t={t} base="/ops/console" params={new URLSearchParams(cursor ? { cursor } : {})} next={list.next_cursor} hasCursor={!!cursor} />
      <CreateForm page={page} plans={plans} values={extra.values} />
    </Layout>,
    status,
  )
}

function LimitsForm({ page, tenant, values }: { page: PageContext; tenant: Tenant; values?: Record<string, string> }) {
  const { t } = page
  return (
    <PostForm action={`/ops/console/tenants/${tenant.id}/limits`} csrf={page.viewer!.csrf} class="stack">
      <p class="hint">{t('ops.tenants.limitsHint')}</p>
      {LIMIT_KEYS.map((k) => (
        <Field
          label={t(`ops.tenants.limit.${k}`)}
          name={k}
          type="number"
          min={0}
          max={LIMIT_MAXIMUMS[k]}
          value={values?.[k] ?? (tenant.limits[k] === null ? '' : tenant.limits[k])}
          idPrefix="limits"
          hint={t('ops.tenants.limitMax', { max: LIMIT_MAXIMUMS[k].toLocaleString('en-US') })}
        />
      ))}
      <div>
        <button type="submit">{t('ops.tenants.saveLimits')}</button>
      </div>
    </PostForm>
  )
}

async function detail(c: ConsoleContext, id: string, extra: { flash?: FlashMessage | null; limits?: Record<string, string> } = {}, status = 200) {
  const page = c.var.page
  const { t } = page
  const db = database(c.env)
  let tenant: Tenant
  try {
    tenant = await getTenant(db, id)
  } catch (error) {
    // A terminated tenant has no row left, only its certificate.
    if (error instanceof Problem && error.status === 404 && (await erasureProgress(db, id))?.status === 'finished') return c.redirect(`/ops/console/tenants/${id}/certificate`, 303)
    throw error
  }
  const [plans, usage, overview, erasure, support] = await Promise.all([listPlans(db), usageOf(c.env, db, tenant.id), maintenanceOverview(c.env, db), erasureProgress(db, tenant.id), supportAccess(db, tenant.id)])
  const flag = overview.tenants.find((f) => f.tenant_id === tenant.id)
  const csrf = page.viewer!.csrf
  const base = `/ops/console/tenants/${tenant.id}`
  return html(
    c,
    <Layout page={page} title={`${t('ops.tenants.detail')}: ${tenant.slug}`}>
      <Flash flash={extra.flash} />
      {erasure ? (
        <Flash flash={{ kind: 'warn', text: t('ops.term.inProgress') }} />
      ) : null}
      <dl class="facts">
        <dt>{t('ops.tenants.id')}</dt>
        <dd class="mono" data-testid="tenant-id">{tenant.id}</dd>
        <dt>{t('ops.tenants.name')}</dt>
        <dd>{tenant.name}</dd>
        <dt>{t('ops.tenants.plan')}</dt>
        <dd>{tenant.plan}</dd>
        <dt>{t('ops.tenants.status')}</dt>
        <dd>{t(`ops.tenants.status.${tenant.status}`)}</dd>
        <dt>{t('ops.tenants.contact')}</dt>
        <dd>{tenant.contact_email}</dd>
        <dt>{t('dashboard.seats')}</dt>
        <dd>
          {usage.seats.used} / {usage.seats.limit}
        </dd>
        <dt>{t('dashboard.requestsMonth')}</dt>
        <dd>
          {usage.requests.month.used.toLocaleString('en-US')} / {usage.requests.month.limit.toLocaleString('en-US')}
        </dd>
        <dt>{t('ops.tenants.createdAt')}</dt>
        <dd>
          <Time iso={tenant.created_at} />
        </dd>
      </dl>
      <p>
        <a href={`/ops/console/audit?${new URLSearchParams({ tenant_id: tenant.id })}`}>{t('ops.tenants.auditOf')}</a> ·{' '}
        <a href={`/ops/console/sla?${new URLSearchParams({ tenant_id: tenant.id })}`}>{t('ops.tenants.slaOf')}</a> ·{' '}
        <a href={`/ops/console/backups?${new URLSearchParams({ tenant_id: tenant.id })}`}>{t('ops.backups.of')}</a>
      </p>
      <h2>{t('ops.support.title')}</h2>
      {support.granted ? (
        <>
          <p data-testid="support-granted">
            {t('ops.support.grantedUntil')} <Time iso={support.expires_at} />
          </p>
          <p>
            <a href={`${base}/records`}>{t('ops.support.records')}</a> · <a href={`${base}/files`}>{t('ops.support.files')}</a>
          </p>
          <p class="hint">{t('ops.support.audited')}</p>
        </>
      ) : (
        <p class="hint" data-testid="support-none">{t('ops.support.none')}</p>
      )}
      <h2>{t('ops.tenants.changePlan')}</h2>
      <PostForm action={`${base}/plan`} csrf={csrf} class="stack">
        <Select label={t('ops.tenants.plan')} name="plan" options={planOptions(plans)} value={tenant.plan} idPrefix="plan" />
        <div>
          <button type="submit">{t('ops.tenants.changePlan')}</button>
        </div>
      </PostForm>
      <h2>{t('ops.tenants.limits')}</h2>
      <LimitsForm page={page} tenant={tenant} values={extra.limits} />
      <h2>{t('ops.maint.tenantOf')}</h2>
      {flag ? (
        <>
          <Flash flash={{ kind: 'warn', text: `${t('ops.maint.inForce')}${flag.message ? `: ${flag.message}` : ''}` }} />
          <OffForm page={page} tenantId={tenant.id} label={t('ops.maint.turnOff')} back={base} />
        </>
      ) : (
        <TenantOnForm page={page} tenantId={tenant.id} back={base} />
      )}
      <h2>{t('common.actions')}</h2>
      <PostForm action={`${base}/status`} csrf={csrf} class="inline">
        <input type="hidden" name="status" value={tenant.status === 'active' ? 'suspended' : 'active'} />
        <button type="submit" class={tenant.status === 'active' ? 'danger' : undefined}>
          {tenant.status === 'active' ? t('ops.tenants.suspend') : t('ops.tenants.reactivate')}
        </button>
      </PostForm>
      {tenant.status === 'active' ? <p class="hint">{t('ops.tenants.suspendHint')}</p> : null}
      <p>
        <a class="button danger" href={`${base}/terminate`}>
          {erasure ? t('ops.term.continue') : t('ops.term.button')}
        </a>
      </p>
      <p>
        <a href="/ops/console">{t('common.back')}</a>
      </p>
    </Layout>,
    status,
  )
}

export const tenantPages = new Hono<ConsoleEnv>({ strict: true })

tenantPages.get('/ops/console', signedIn, (c) => listPage(c))

tenantPages.post('/ops/console/tenants', signedIn, async (c) => {
  const form = c.var.form
  const values: CreateValues = {
    slug: text(form, 'slug').trim(),
    name: text(form, 'name'),
    plan: text(form, 'plan'),
    contact_email: text(form, 'contact_email').trim(),
    admin_email: text(form, 'admin_email').trim(),
    admin_name: text(form, 'admin_name'),
  }
  const input = { slug: values.slug, name: values.name, plan: values.plan, contact_email: values.contact_email, admin: { email: values.admin_email, name: values.admin_name } }
  try {
    const parsed = TenantCreateSchema.safeParse(input)
    if (!parsed.success) throw invalidFormProblem(parsed.error)
    const created = await createTenant(c.env, database(c.env), parsed.data, actorOf(c as never), requestMeta(c))
    // Shown on this one answer only (no-store), never put in a redirect or a cookie.
    const flash = { kind: 'ok' as const, text: c.var.page.t('ops.tenants.created', { slug: created.tenant.slug, email: created.admin.email }) }
    return listPage(c, { flash, secret: created.admin.temporary_password }, 201)
  } catch (error) {
    return listPage(c, { flash: problemFlash(c.var.page.t, error), values }, (error as { status: number }).status)
  }
})

tenantPages.get('/ops/console/tenants/:id', signedIn, (c) => {
  const done = c.req.query('done')
  const t = c.var.page.t
  const flash =
    done === 'updated' ? ({ kind: 'ok', text: t('ops.tenants.updated') } as const)
    : done === 'maintenance-on' ? ({ kind: 'ok', text: t('ops.maint.done.on') } as const)
    : done === 'maintenance-off' ? ({ kind: 'ok', text: t('ops.maint.done.off') } as const)
    : null
  return detail(c, c.req.param('id'), { flash })
})

async function patch(c: ConsoleContext, id: string, body: Record<string, unknown>, limits?: Record<string, string>) {
  try {
    const parsed = TenantPatchSchema.safeParse(body)
    if (!parsed.success) throw invalidFormProblem(parsed.error)
    await updateTenant(c.env, database(c.env), id, parsed.data, actorOf(c as never), requestMeta(c))
    return c.redirect(`/ops/console/tenants/${id}?done=updated`, 303)
  } catch (error) {
    return detail(c, id, { flash: problemFlash(c.var.page.t, error), limits }, (error as { status: number }).status)
  }
}

tenantPages.post('/ops/console/tenants/:id/plan', signedIn, (c) => patch(c, c.req.param('id'), { plan: text(c.var.form, 'plan') }))

tenantPages.post('/ops/console/tenants/:id/status', signedIn, (c) => patch(c, c.req.param('id'), { status: text(c.var.form, 'status') }))

/** Every limit field is sent: a number overrides the plan, an empty field returns that limit to the plan's. */
tenantPages.post('/ops/console/tenants/:id/limits', signedIn, (c) => {
  const typed = Object.fromEntries(LIMIT_KEYS.map((k) => [k, text(c.var.form, k).trim()])) as Record<LimitKey, string>
  const limits = Object.fromEntries(LIMIT_KEYS.map((k) => [k, typed[k] === '' ? null : Number(typed[k])]))
  return patch(c, c.req.param('id'), { limits }, typed)
})
