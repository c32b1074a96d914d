/** @jsxImportSource hono/jsx */
import { Hono } from 'hono'
import { database } from '../../../db/client'
import { listPlans } from '../../../services/tenancy/tenants'
import { Table } from '../../../views/components'
import { Layout } from '../../../views/layout'
import { bytes } from '../kit/format'
import { consoleSession, html, type ConsoleEnv } from '../kit/page'

const signedIn = consoleSession('ops')

type Plan = Awaited<ReturnType<typeof listPlans>>[number]

/** The plans and their limits, read only: the service behind GET /ops/v1/plans. Per-tenant overrides are set on the tenant's page. */
export const planPages = new Hono<ConsoleEnv>({ strict: true })

planPages.get('/ops/console/plans', signedIn, async (c) => {
  const page = c.var.page
  const { t } = page
  const plans = await listPlans(database(c.env))
  const n = (x: number) => x.toLocaleString('en-US')
  return html(
    c,
    <Layout page={page} title={t('ops.plans.title')}>
      <p class="hint">{t('ops.plans.hint')}</p>
      <Table<Plan>
        caption={t('ops.plans.title')}
        empty={t('common.none')}
        rows={plans}
        columns={[
          { label: t('ops.plans.id'), cell: (p) => <span class="mono" data-testid="plan-id">{p.id}</span>, nowrap: true },
          { label: t('ops.plans.name'), cell: (p) => p.name },
          { label: t('ops.tenants.limit.seats'), cell: (p) => n(p.seats), num: true },
          { label: t('ops.tenants.limit.concurrent_sessions'), cell: (p) => n(p.concurrent_sessions), num: true },
          { label: t('ops.plans.storage'), cell: (p) => bytes(p.storage_bytes), num: true, nowrap: true },
          { label: t('ops.tenants.limit.requests_per_minute'), cell: (p) => n(p.requests_per_minute), num: true },
          { label: t('ops.tenants.limit.requests_per_month'), cell: (p) => n(p.requests_per_month), num: true },
        ]}
      />
    </Layout>,
  )
})
