/** @jsxImportSource hono/jsx */
import { Hono } from 'hono'
import { listSessions, revokeSession } from '../../services/identity/session-admin'
import { Flash, Pager, PostForm, Table, Time } from '../../views/components'
import { Layout } from '../../views/layout'
import { requestMeta } from '../context'
import { consoleSession, html, type ConsoleEnv } from './kit/page'

type Session = Awaited<ReturnType<typeof listSessions>>['items'][number]

const signedIn = consoleSession('tenant')

export const sessionPages = new Hono<ConsoleEnv>({ strict: true })

/** An admin sees the tenant's sessions, anyone else their own (the service decides). */
sessionPages.get('/console/sessions', signedIn, async (c) => {
  const page = c.var.page
  const { t } = page
  const cursor = c.req.query('cursor')
  const list = await listSessions(c.env, c.var.principal, 50, cursor)
  return html(
    c,
    <Layout page={page} title={t('sessions.title')}>
      {c.req.query('done') === 'revoked' ? <Flash flash={{ kind: 'ok', text: t('sessions.revoked') }} /> : null}
      <Table<Session>
        caption={t('sessions.title')}
        empty={t('common.none')}
        rows={list.items}
        columns={[
          { label: t('sessions.user'), cell: (s) => <span class="mono">{s.user_id}</span> },
          { label: t('sessions.created'), cell: (s) => <Time iso={s.created_at} /> },
          { label: t('sessions.lastSeen'), cell: (s) => <Time iso={s.last_seen_at} /> },
          { label: t('sessions.expires'), cell: (s) => <Time iso={s.expires_at} /> },
          { label: t('sessions.ip'), cell: (s) => <span class="mono">{s.ip ?? '–'}</span> },
          { label: t('sessions.agent'), cell: (s) => s.user_agent ?? '–' },
          {
            label: t('common.actions'),
            cell: (s) =>
              s.current ? (
                t('sessions.current')
              ) : (
                <PostForm action={`/console/sessions/${s.id}/revoke`} csrf={page.viewer!.csrf} class="inline">
                  <button type="submit" class="secondary" aria-label={`${t('sessions.revoke')} ${s.id}`}>
                    {t('sessions.revoke')}
                  </button>
                </PostForm>
              ),
          },
        ]}
      />
      <Pager t={t} base="/console/sessions" params={new URLSearchParams(cursor ? { cursor } : {})} next={list.next_cursor} hasCursor={!!cursor} />
    </Layout>,
  )
})

sessionPages.post('/console/sessions/:id/revoke', signedIn, async (c) => {
  await revokeSession(c.env, c.var.principal, c.req.param('id'), requestMeta(c))
  return c.redirect('/console/sessions?done=revoked', 303)
})
