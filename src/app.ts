import { prefersHtml } from './lib/accept'
import { describeError } from './lib/error-log'
import { maintenancePage } from './lib/maintenance-page'
import { toProblem } from './lib/render-problem'
import { bodyLimit } from './middleware/body-limit'
import { devSeed } from './middleware/dev-seed'
import { ipRateLimit } from './middleware/ip-rate-limit'
import { maintenance } from './middleware/maintenance'
import { notFound } from './middleware/not-found'
import { requestId } from './middleware/request-id'
import { requestLog } from './middleware/request-log'
import { securityHeaders } from './middleware/security-headers'
import { REQUEST_BODY_LIMIT_BYTES } from './schemas/limits'
import { audit } from './routes/audit/audit.index'
import { auth } from './routes/auth/auth.index'
import { backups } from './routes/backups/backups.index'
import { dev } from './routes/dev/dev.index'
import { files } from './routes/files/files.index'
import { mountDocs } from './routes/docs/docs.index'
import { health } from './routes/health/health.index'
import { incidents } from './routes/incidents/incidents.index'
import { ledger } from './routes/ledger/ledger.index'
import { myMfa } from './routes/my-mfa/my-mfa.index'
import { opsAnnouncements } from './routes/ops-announcements/ops-announcements.index'
import { opsAudit } from './routes/ops-audit/ops-audit.index'
import { opsAuth } from './routes/ops-auth/ops-auth.index'
import { opsBackups } from './routes/ops-backups/ops-backups.index'
import { opsIncidents } from './routes/ops-incidents/ops-incidents.index'
import { opsKeys } from './routes/ops-keys/ops-keys.index'
import { opsMaintenance } from './routes/ops-maintenance/ops-maintenance.index'
import { opsMaintenanceWindows } from './routes/ops-maintenance-windows/ops-maintenance-windows.index'
import { opsSupport } from './routes/ops-support/ops-support.index'
import { opsTenants } from './routes/ops-tenants/ops-tenants.index'
import { operators } from './routes/operators/operators.index'
import { opsMfa } from './routes/ops-mfa/ops-mfa.index'
import { opsSla } from './routes/ops-sla/ops-sla.index'
import { policy } from './routes/policy/policy.index'
import { records } from './routes/records/records.index'
import { users } from './routes/users/users.index'
import { createRouter } from './routes/router'
import { sessions } from './routes/sessions/sessions.index'
import { sla } from './routes/sla/sla.index'
import { status } from './routes/status/status.index'
import { support } from './routes/support/support.index'
import { usage } from './routes/usage/usage.index'
import { tenantConsole } from './routes/console/console.index'
import { opsConsole } from './routes/console/ops/ops-console.index'
import { helpPages } from './routes/help/help.index'
import { exportRoutes } from './routes/export/export.index'
import { wellKnown } from './routes/well-known/well-known.index'
import { tenant } from './routes/tenant/tenant.index'

/**
 * The whole HTTP surface. Middleware order matters: the request ID comes
 * first so every later line and error carries it; the log wraps everything
 * so it sees the final status; headers and the body limit apply to all routes;
 * the per-address ceiling comes before any work that touches storage.
 */
export function createApp() {
  const app = createRouter()

  app.use(requestId())
  app.use(requestLog({ enabled: (env) => (env as Env).REQUEST_LOG !== 'off' }))
  app.use(securityHeaders())
  // Before anything that reads a body, D1 or a Durable Object: a flood from one address costs one counter call each.
  app.use(ipRateLimit())
  // The global maintenance flag, from the isolate's copy: a refused request costs no D1 or Durable Object call.
  app.use(maintenance())
  // File uploads stream to R2 with their own cap (services/files.ts); every other body is JSON.
  // The console's upload form carries a file too, and caps its own body (routes/console/files.tsx).
  const ownLimit = (c: { req: { method: string; path: string } }) =>
    (c.req.method === 'PUT' && c.req.path.startsWith('/api/v1/files/')) || (c.req.method === 'POST' && c.req.path === '/console/files')
  app.use(bodyLimit({ maxBytes: REQUEST_BODY_LIMIT_BYTES, skip: ownLimit }))
  app.use(devSeed())

  const routers = [health, dev, opsAuth, opsMfa, operators, opsTenants, opsSupport, opsAudit, auth, myMfa, policy, users, ledger, sessions, support, records, files, audit, opsSla, sla]
  // Operations (issue 9): maintenance calendar, announcements, incidents, public status.
  routers.push(opsMaintenanceWindows, opsAnnouncements, opsIncidents, incidents, status)
  // The maintenance flags (issue 9): the operators' switch; the check itself is the maintenance() middleware and the session check.
  routers.push(opsMaintenance)
  // Tenant data keys (issue 10): master-key rotation.
  routers.push(opsKeys)
  // Usage against the limits in force (issue 8).
  routers.push(usage)
  // Data lifecycle (issue 10): the tenant's export, and the key that verifies erasure certificates.
  routers.push(exportRoutes, wellKnown)
  // The tenant's own settings (the language of its mail).
  routers.push(tenant)
  // Encrypted snapshots, verification and restore (issue 10).
  routers.push(opsBackups, backups)
  for (const router of routers) app.route('/', router)
  // The web console and help (issue 11): pages, with their own error pages; only these read the session cookie.
  app.route('/', tenantConsole)
  app.route('/', opsConsole)
  app.route('/', helpPages)
  mountDocs(app)

  app.notFound(notFound({ routes: () => app.routes }))
  app.onError(async (error, c) => {
    const problem = toProblem(error)
    if (problem.status >= 500) {
      console.error(JSON.stringify({ level: 'error', msg: 'unhandled error', request_id: c.var.requestId, ...(await describeError(error)) }))
    }
    if (problem.type === 'maintenance' && prefersHtml(c.req.header('Accept'))) {
      c.header('Vary', 'Accept')
      return c.html(maintenancePage(problem, c.var.requestId), problem.status as 503, problem.headers)
    }
    return c.body(JSON.stringify(problem.toJSON(c.var.requestId)), problem.status as 400, {
      ...problem.headers,
      'Content-Type': 'application/problem+json',
    })
  })

  return app
}
