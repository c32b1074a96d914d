/** @jsxImportSource hono/jsx */
import type { Child } from 'hono/jsx'
import type { ConsoleKey } from '../i18n/console/ja'
import type { Locale, Translate } from '../i18n'
import { STYLE_VERSION } from './console.css'
import { CsrfField } from './components'

/** What every page knows about its request: language, the caller, its CSRF token. */
export type PageContext = {
  t: Translate
  locale: Locale
  area: 'tenant' | 'ops' | 'public'
  /** The path of this page, to mark its menu entry. */
  path: string
  /** Signed in: who, and the session's CSRF token for forms. */
  viewer?: { name: string; email: string; admin: boolean; permissions: string[]; csrf: string; passwordChangeOnly?: boolean }
}

export const STYLESHEET_PATH = `/console/assets/console-${STYLE_VERSION}.css`

type NavItem = { href: string; key: ConsoleKey; adminOnly?: boolean; permission?: string }

const TENANT_NAV: NavItem[] = [
  { href: '/console', key: 'nav.dashboard' },
  { href: '/console/users', key: 'nav.users', adminOnly: true },
  { href: '/console/audit', key: 'nav.audit', permission: 'audit:read' },
  { href: '/console/ledger', key: 'nav.ledger', adminOnly: true },
  { href: '/console/records', key: 'nav.records', permission: 'records:read' },
  { href: '/console/files', key: 'nav.files', permission: 'files:read' },
  { href: '/console/policy', key: 'nav.policy', adminOnly: true },
  { href: '/console/sla', key: 'nav.sla', adminOnly: true },
  { href: '/console/support', key: 'nav.support', adminOnly: true },
  { href: '/console/backups', key: 'nav.backups', adminOnly: true },
  { href: '/console/incidents', key: 'nav.tenantIncidents', adminOnly: true },
  { href: '/console/settings', key: 'nav.settings' },
  { href: '/console/sessions', key: 'nav.sessions' },
  { href: '/console/mfa', key: 'nav.mfa' },
  { href: '/console/password', key: 'nav.password' },
  { href: '/help', key: 'nav.help' },
]

const OPS_NAV: NavItem[] = [
  { href: '/ops/console', key: 'nav.tenants' },
  { href: '/ops/console/plans', key: 'nav.plans' },
  { href: '/ops/console/maintenance', key: 'nav.maintenance' },
  { href: '/ops/console/windows', key: 'nav.windows' },
  { href: '/ops/console/announcements', key: 'nav.announcements' },
  { href: '/ops/console/incidents', key: 'nav.incidents' },
  { href: '/ops/console/backups', key: 'nav.backups' },
  { href: '/ops/console/sla', key: 'nav.sla' },
  { href: '/ops/console/audit', key: 'nav.audit' },
  { href: '/ops/console/operators', key: 'nav.operators' },
  { href: '/ops/console/keys', key: 'nav.keys' },
  { href: '/ops/console/password', key: 'nav.password' },
  { href: '/help', key: 'nav.help' },
]

function current(path: string, href: string) {
  if (href === '/ops/console') return path === href || path.startsWith('/ops/console/tenants/')
  if (href === '/console') return path === href
  return path === href || path.startsWith(`${href}/`)
}

function Nav({ page }: { page: PageContext }) {
  const viewer = page.viewer
  if (!viewer || viewer.passwordChangeOnly) return null
  const items = (page.area === 'ops' ? OPS_NAV : TENANT_NAV).filter((i) => (!i.adminOnly || viewer.admin) && (!i.permission || page.area === 'ops' || viewer.permissions.includes(i.permission)))
  return (
    <nav class="main" aria-label={page.t('nav.main')}>
      <ul>
        {items.map((i) => (
          <li>
            <a href={i.href} aria-current={current(page.path, i.href) ? 'page' : undefined}>
              {page.t(i.key)}
            </a>
          </li>
        ))}
      </ul>
    </nav>
  )
}

/** The page frame: language, stylesheet, skip link, menu, sign-out form, footer. */
export function Layout({ page, title, narrow, children }: { page: PageContext; title: string; narrow?: boolean; children?: Child }) {
  const { t, viewer } = page
  const home = page.area === 'ops' ? '/ops/console' : page.area === 'tenant' ? '/console' : '/help'
  const brand = page.area === 'ops' ? t('app.opsConsole') : t('app.console')
  return (
    <html lang={page.locale}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <title>{`${title} | ${t('app.name')}`}</title>
        <link rel="stylesheet" href={STYLESHEET_PATH} />
      </head>
      <body>
        <a class="skip" href="#content">
          {t('skip')}
        </a>
        <header class="top">
          <a class="brand" href={home}>
            {t('app.name')} {page.area === 'public' ? '' : brand}
          </a>
          <Nav page={page} />
          {viewer ? (
            <span class="who">
              {viewer.name} ({viewer.email}){' '}
              <form class="inline" method="post" action={page.area === 'ops' ? '/ops/console/sign-out' : '/console/sign-out'}>
                <CsrfField token={viewer.csrf} />
                <button type="submit">{t('nav.signOut')}</button>
              </form>
            </span>
          ) : null}
        </header>
        <main id="content" class={narrow ? 'narrow' : undefined} tabindex={-1}>
          <h1>{title}</h1>
          {children}
        </main>
        <footer class="bottom">
          <a href="/help">{t('nav.help')}</a> · <a href="/status">{t('nav.status')}</a>
        </footer>
      </body>
    </html>
  )
}
