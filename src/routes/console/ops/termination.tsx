/** @jsxImportSource hono/jsx */
import { Hono } from 'hono'
import type { Child } from 'hono/jsx'
import { decodeJwt } from 'jose'
import { database } from '../../../db/client'
import { Problem } from '../../../lib/problem'
import { erasureCertificate, erasureProgress, terminateTenant, type ErasureProgress } from '../../../services/tenancy/erasure'
import type { ErasureStatement } from '../../../services/tenancy/erasure-certificate'
import { getTenant } from '../../../services/tenancy/tenants'
import { Field, Flash, PostForm, Table, Time, type FlashMessage } from '../../../views/components'
import { Layout, type PageContext } from '../../../views/layout'
import { formatJst } from '../../../services/operations/calendar'
import { actorOf, requestMeta } from '../../context'
import { consoleSession, html, text, type ConsoleContext, type ConsoleEnv } from '../kit/page'

const signedIn = consoleSession('ops')

type InProgress = Extract<ErasureProgress, { status: 'in_progress' }>

function ProgressPage({ page, progress }: { page: PageContext; progress: InProgress }) {
  const { t } = page
  const e = progress.erased
  const rows = [
    ...Object.entries(e.d1).map(([store, n]) => ({ store: `D1 ${store}`, n: String(n) })),
    { store: t('ops.term.files'), n: String(e.files) },
    { store: t('ops.term.backups'), n: String(e.backups) },
    { store: t('ops.term.sessionStores'), n: String(e.session_stores) },
    { store: t('ops.term.auditChain'), n: String(e.audit_chain) },
    { store: t('ops.term.throttles'), n: String(e.throttles) },
    { store: t('ops.term.key'), n: e.tenant_key ? t('common.yes') : t('common.no') },
  ]
  return (
    <Layout page={page} title={t('ops.term.progressTitle')}>
      <Flash flash={{ kind: 'warn', text: t('ops.term.progress', { step: progress.step, since: formatJst(progress.started_at) }) }} />
      <Table<{ store: string; n: string }>
        caption={t('ops.term.claims')}
        empty={t('common.none')}
        rows={rows}
        columns={[
          { label: t('ops.term.store'), cell: (r) => r.store },
          { label: t('ops.term.count'), cell: (r) => r.n, num: true },
        ]}
      />
      <PostForm action={`/ops/console/tenants/${progress.tenant_id}/terminate`} csrf={page.viewer!.csrf} class="inline">
        <input type="hidden" name="continue" value="1" />
        <button type="submit">{t('ops.term.continue')}</button>
      </PostForm>
    </Layout>
  )
}

async function confirmPage(c: ConsoleContext, id: string, flash: FlashMessage | null = null, status = 200) {
  const page = c.var.page
  const { t } = page
  const tenant = await getTenant(database(c.env), id)
  return html(
    c,
    <Layout page={page} title={`${t('ops.term.title')}: ${tenant.slug}`} narrow>
      <Flash flash={flash} />
      <Flash flash={{ kind: 'error', text: t('ops.term.warning', { slug: tenant.slug }) }} />
      <PostForm action={`/ops/console/tenants/${tenant.id}/terminate`} csrf={page.viewer!.csrf} class="stack">
        <Field label={t('ops.term.confirmField')} name="confirm_slug" required idPrefix="terminate" autocomplete="off" />
        <div>
          <button type="submit" class="danger">
            {t('ops.term.do')}
          </button>
        </div>
      </PostForm>
      <p>
        <a href={`/ops/console/tenants/${tenant.id}`}>{t('common.back')}</a>
      </p>
    </Layout>,
    status,
  )
}

/** The answer of a termination step: the certificate page once finished, else the progress. */
function afterStep(c: ConsoleContext, progress: ErasureProgress) {
  if (progress.status === 'finished') return c.redirect(`/ops/console/tenants/${c.req.param('id')}/certificate`, 303)
  return html(c, <ProgressPage page={c.var.page} progress={progress} />, 202)
}

export const terminationPages = new Hono<ConsoleEnv>({ strict: true })

terminationPages.get('/ops/console/tenants/:id/terminate', signedIn, async (c) => {
  const id = c.req.param('id')
  const progress = await erasureProgress(database(c.env), id)
  if (progress) return afterStep(c, progress)
  return confirmPage(c, id)
})

terminationPages.post('/ops/console/tenants/:id/terminate', signedIn, async (c) => {
  const id = c.req.param('id')
  const db = database(c.env)
  const started = await erasureProgress(db, id)
  if (!started) {
    // The typed slug is the console's own confirmation: a mismatch reaches no service and erases nothing.
    const tenant = await getTenant(db, id)
    if (text(c.var.form, 'confirm_slug').trim() !== tenant.slug) {
      return confirmPage(c, id, { kind: 'error', text: c.var.page.t('ops.term.mismatch') }, 422)
    }
  }
  return afterStep(c, await terminateTenant(c.env, id, actorOf(c as never), requestMeta(c)))
})

type Claims = ErasureStatement & { iss?: string; sub?: string; iat?: number }

function CertificatePage({ page, jws, claims }: { page: PageContext; jws: string; claims: Claims }) {
  const { t } = page
  const erased = claims.erased
  const tables = [
    ...Object.entries(erased.d1.rows).map(([table, n]) => ({ store: <span class="mono">{table}</span>, n: n.toLocaleString('en-US') })),
    { store: <strong>{t('ops.term.total')}</strong>, n: erased.d1.total.toLocaleString('en-US') },
  ]
  const others = [
    { store: t('ops.term.files'), n: erased.files.objects.toLocaleString('en-US') },
    { store: t('ops.term.backups'), n: erased.backups.objects.toLocaleString('en-US') },
    { store: t('ops.term.sessionStores'), n: String(erased.durable_objects.session_stores) },
    { store: t('ops.term.auditChain'), n: String(erased.durable_objects.audit_chain) },
    { store: t('ops.term.throttles'), n: String(erased.durable_objects.throttles) },
    { store: t('ops.term.key'), n: erased.tenant_key.destroyed ? t('common.yes') : t('common.no') },
  ]
  const columns = [
    { label: t('ops.term.store'), cell: (r: { store: Child }) => r.store },
    { label: t('ops.term.count'), cell: (r: { n: string }) => r.n, num: true },
  ]
  return (
    <Layout page={page} title={`${t('ops.term.certTitle')}: ${claims.tenant.slug}`}>
      <Flash flash={{ kind: 'ok', text: t('ops.term.certIntro') }} />
      <h2>{t('ops.term.claims')}</h2>
      <dl class="facts">
        <dt>{t('ops.term.slug')}</dt>
        <dd>{claims.tenant.slug}</dd>
        <dt>{t('ops.term.tenantId')}</dt>
        <dd class="mono">{claims.tenant.id}</dd>
        <dt>{t('ops.term.erasedAt')}</dt>
        <dd data-testid="erased-at">
          <Time iso={claims.erased_at} />
        </dd>
        <dt>{t('ops.term.issuer')}</dt>
        <dd>{claims.iss ?? '–'}</dd>
        <dt>{t('ops.term.head')}</dt>
        <dd class="mono" data-testid="final-audit-head">
          {claims.final_audit_head ? `seq ${claims.final_audit_head.seq} · ${claims.final_audit_head.hash}` : t('ops.term.noHead')}
        </dd>
      </dl>
      <Table<(typeof tables)[number]> caption={t('ops.term.d1')} empty={t('common.none')} rows={tables} columns={columns} />
      <Table<(typeof others)[number]> caption={t('ops.term.otherStores')} empty={t('common.none')} rows={others} columns={columns} />
      <h2>{t('ops.term.retention')}</h2>
      <p>{t('ops.term.retentionText')}</p>
      <details>
        <summary>{t('ops.term.asStated')}</summary>
        <p lang="en">{claims.retention}</p>
      </details>
      <h2>{t('ops.term.jws')}</h2>
      <pre class="mono" data-testid="certificate">{jws}</pre>
      <p>
        <a href="/.well-known/jwks.json">{t('ops.term.jwks')}</a>
      </p>
      <p>
        <a href="/ops/console">{t('common.back')}</a>
      </p>
    </Layout>
  )
}

terminationPages.get('/ops/console/tenants/:id/certificate', signedIn, async (c) => {
  const jws = await erasureCertificate(database(c.env), c.req.param('id'))
  let claims: Claims
  try {
    claims = decodeJwt(jws) as unknown as Claims
  } catch {
    throw new Problem({ status: 500, type: 'internal', title: 'Stored certificate unreadable', detail: 'The stored erasure certificate does not decode.' })
  }
  return html(c, <CertificatePage page={c.var.page} jws={jws} claims={claims} />)
})
