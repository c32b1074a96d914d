/** @jsxImportSource hono/jsx */
import { Hono } from 'hono'
import { database } from '../../db/client'
import { accountLedger } from '../../services/accounts/ledger'
import { Table, Time } from '../../views/components'
import { Layout } from '../../views/layout'
import { actorOf, requestMeta } from '../context'
import { consoleSession, html, type ConsoleEnv } from './kit/page'

type LedgerJson = Exclude<Awaited<ReturnType<typeof accountLedger>>, string>
type Row = LedgerJson['items'][number]

const admin = consoleSession('tenant', { admin: true })

export const ledgerPages = new Hono<ConsoleEnv>({ strict: true })

ledgerPages.get('/console/ledger', admin, async (c) => {
  const page = c.var.page
  const { t } = page
  const ledger = (await accountLedger(c.env, database(c.env), c.var.principal.tenantId!, actorOf(c as never), requestMeta(c), 'json')) as LedgerJson
  return html(
    c,
    <Layout page={page} title={t('ledger.title')}>
      <p>{t('ledger.intro')}</p>
      <p class="actions">
        <a class="button" href="/console/ledger.csv" download>
          {t('ledger.download')}
        </a>
      </p>
      <Table<Row>
        caption={t('ledger.title')}
        empty={t('common.none')}
        rows={ledger.items}
        columns={[
          { label: t('users.name'), cell: (u) => <a href={`/console/users/${u.id}`}>{u.name}</a> },
          { label: t('users.email'), cell: (u) => u.email },
          { label: t('users.role'), cell: (u) => t(`users.role.${u.role}`), nowrap: true },
          { label: t('users.status'), cell: (u) => t(`users.status.${u.status}`), nowrap: true },
          {
            label: t('users.permissions'),
            cell: (u) => (
              <ul>
                {u.permissions_explained.map((p) => (
                  <li>
                    <code>{p.permission}</code>: {p.allows}
                  </li>
                ))}
              </ul>
            ),
          },
          { label: t('ledger.mfa'), cell: (u) => (u.mfa.length ? u.mfa.join(', ') : t('common.none')) },
          { label: t('ledger.passwordAge'), cell: (u) => u.password_age_days, num: true },
          { label: t('users.lastLogin'), cell: (u) => (u.last_login_at ? <Time iso={u.last_login_at} /> : t('users.never')) },
        ]}
      />
    </Layout>,
  )
})

/** The API's CSV, audited the same way; an attachment that can never run as a page on this origin. */
ledgerPages.get('/console/ledger.csv', admin, async (c) => {
  const csv = (await accountLedger(c.env, database(c.env), c.var.principal.tenantId!, actorOf(c as never), requestMeta(c), 'csv')) as string
  return c.body(csv, 200, {
    'Content-Type': 'text/csv; charset=utf-8',
    'Content-Disposition': `attachment; filename="account-ledger-${new Date().toISOString().slice(0, 10)}.csv"`,
    'Content-Security-Policy': 'sandbox',
    'Cache-Control': 'no-store',
  })
})
