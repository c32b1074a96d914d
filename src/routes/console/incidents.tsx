/** @jsxImportSource hono/jsx */
import { Hono } from 'hono'
import { database } from '../../db/client'
import { listTenantIncidents } from '../../services/operations/incidents'
import { Pager } from '../../views/components'
import { IncidentCard } from '../../views/incident'
import { Layout } from '../../views/layout'
import { consoleSession, html, type ConsoleEnv } from './kit/page'
import { listQuery } from './kit/validate'

const PAGE_SIZE = 50
const admin = consoleSession('tenant', { admin: true })

/** The incidents that affect the tenant, with their timelines (GET /api/v1/incidents' service). */
export const tenantIncidentPages = new Hono<ConsoleEnv>({ strict: true })

tenantIncidentPages.get('/console/incidents', admin, async (c) => {
  const page = c.var.page
  const query = listQuery(c, PAGE_SIZE)
  const list = await listTenantIncidents(database(c.env), c.var.principal.tenantId!, query)
  return html(
    c,
    <Layout page={page} title={page.t('incidents.title')}>
      {list.items.length ? list.items.map((i) => <IncidentCard page={page} incident={i} />) : <p>{page.t('incidents.none')}</p>}
      <Pager t={page.t} base="/console/incidents" params={new URLSearchParams(query.cursor ? { cursor: query.cursor } : {})} next={list.next_cursor} hasCursor={!!query.cursor} />
    </Layout>,
  )
})
