import { Hono } from 'hono'
import { Problem } from '../../../lib/problem'
import { consoleErrors, type ConsoleEnv } from '../kit/page'
import { opsSignInPages } from './sign-in'
import { tenantPages } from './tenants'
import { windowPages } from './windows'
import { announcementPages } from './announcements'
import { incidentPages } from './incidents'
import { opsSlaPages } from './sla'
import { opsAuditPages } from './audit'
import { maintenancePages } from './maintenance'
import { backupPages } from './backups'
import { terminationPages } from './termination'
import { supportPages } from './support'
import { planPages } from './plans'
import { operatorPages } from './operators'
import { keyPages } from './keys'

/**
 * The operator console at /ops/console: the same services as /ops/v1,
 * signed in by its own `__Host-` cookie, which no other route reads (and
 * which never carries a tenant session). Operators always answer a second
 * factor, and every request is held to OPS_IP_ALLOWLIST by the same
 * session check the API uses.
 */
export const opsConsole = new Hono<ConsoleEnv>({ strict: true })

for (const pages of [opsSignInPages, tenantPages, windowPages, announcementPages, incidentPages, opsSlaPages, opsAuditPages, maintenancePages, backupPages, terminationPages, supportPages, planPages, operatorPages, keyPages]) opsConsole.route('/', pages)

// An unknown console path is a page in the viewer's language, not the API's JSON 404.
opsConsole.all('/ops/console/*', (c) => {
  throw Problem.noRoute(c.req.path)
})

opsConsole.onError(consoleErrors('ops'))
