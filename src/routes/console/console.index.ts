import { Hono } from 'hono'
import { CONSOLE_CSS } from '../../views/console.css'
import { STYLESHEET_PATH } from '../../views/layout'
import { consoleErrors, type ConsoleEnv } from './kit/page'
import { signInPages } from './sign-in'
import { dashboardPages } from './dashboard'
import { userPages } from './users'
import { auditPages } from './audit'
import { ledgerPages } from './ledger'
import { sessionPages } from './sessions'

/**
 * The tenant console at /console: server-rendered pages over the same
 * services as /api/v1, signed in by a `__Host-` cookie that only these
 * routes read. Errors render as pages (kit/page.tsx).
 */
export const tenantConsole = new Hono<ConsoleEnv>({ strict: true })

// The one stylesheet, versioned in its URL, so it can be cached for a year and the CSP needs no inline style.
tenantConsole.get(STYLESHEET_PATH, (c) =>
  c.body(CONSOLE_CSS, 200, { 'Content-Type': 'text/css; charset=utf-8', 'Cache-Control': 'public, max-age=31536000, immutable' }),
)

for (const pages of [signInPages, dashboardPages, userPages, auditPages, ledgerPages, sessionPages]) tenantConsole.route('/', pages)

tenantConsole.onError(consoleErrors('tenant'))
