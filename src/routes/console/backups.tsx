/** @jsxImportSource hono/jsx */
import { Hono } from 'hono'
import { database } from '../../db/client'
import { listBackups } from '../../services/backup/catalogue'
import { BackupTable } from '../../views/backups'
import { Pager } from '../../views/components'
import { Layout } from '../../views/layout'
import { consoleSession, html, type ConsoleEnv } from './kit/page'
import { listQuery } from './kit/validate'

const PAGE_SIZE = 50
const admin = consoleSession('tenant', { admin: true })

export const tenantBackupPages = new Hono<ConsoleEnv>({ strict: true })

tenantBackupPages.get('/console/backups', admin, async (c) => {
  const page = c.var.page
  const query = listQuery(c, PAGE_SIZE)
  const list = await listBackups(database(c.env), { tenantId: c.var.principal.tenantId!, limit: query.limit, cursor: query.cursor })
  // As GET /api/v1/backups: failure reasons are for operators.
  const rows = list.items.map(({ error: _error, ...rest }) => rest)
  return html(
    c,
    <Layout page={page} title={page.t('backups.title')}>
      <p>{page.t('backups.intro')}</p>
      <BackupTable page={page} rows={rows} />
      <Pager t={page.t} base="/console/backups" params={new URLSearchParams(query.cursor ? { cursor: query.cursor } : {})} next={list.next_cursor} hasCursor={!!query.cursor} />
    </Layout>,
  )
})
