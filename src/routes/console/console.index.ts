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
import { policyPages } from './policy'
import { mfaPages } from './mfa'
import { recordPages } from './records'
import { filePages } from './files'
import { slaPages } from './sla'
import { supportPages } from './support'
import { tenantBackupPages } from './backups'
import { tenantIncidentPages } from './incidents'
import { settingsPages } from './settings'
import { Problem } from '../../lib/problem'
import { maintenance } from '../../middleware/maintenance'

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

// The global maintenance flag, as the API's maintenance() checks it (the isolate's copy, no D1 or Durable Object call);
// a tenant's own flag reaches the pages through the session check and sign-in. The stylesheet stays served.
const consolePage = (c: { req: { path: string } }) => c.req.path !== STYLESHEET_PATH
tenantConsole.use('/console', maintenance({ applies: consolePage }))
tenantConsole.use('/console/*', maintenance({ applies: consolePage }))

const pages = [signInPages, dashboardPages, userPages, auditPages, ledgerPages, sessionPages, policyPages, mfaPages, recordPages, filePages, slaPages, supportPages, tenantBackupPages, tenantIncidentPages, settingsPages]
for (const group of pages) tenantConsole.route('/', group)

// An unknown console path is a page in the viewer's language, not the API's JSON 404.
tenantConsole.all('/console/*', (c) => {
  throw Problem.noRoute(c.req.path)
})

tenantConsole.onError(consoleErrors('tenant'))
