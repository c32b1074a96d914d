import type { OpenAPIHono } from '@hono/zod-openapi'
import type { AppEnv } from '../../env'
import { DOCS_CSS, DOCS_HTML, DOCS_JS } from './docs-assets'

/**
 * Serves /openapi.json, generated from the very zod schemas that validate
 * requests, and the browsable reference at /docs.
 */
export function mountDocs(app: OpenAPIHono<AppEnv>) {
  app.openAPIRegistry.registerComponent('securitySchemes', 'Bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'A session token from a sign-in route.',
  })
  app.openAPIRegistry.registerComponent('securitySchemes', 'BootstrapToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'The BOOTSTRAP_TOKEN secret (first operator only).',
  })
  app.doc31('/openapi.json', (c) => ({
    openapi: '3.1.0',
    info: {
      title: 'Mamori API',
      version: c.env.APP_VERSION,
      description:
        'Multi-tenant SaaS backend whose every answer on the enterprise SLA/security checklist is a working feature. Errors are RFC 9457 problem documents.',
    },
    servers: [{ url: new URL(c.req.url).origin }],
  }))
  app.get('/docs', (c) => c.html(DOCS_HTML))
  app.get('/docs/docs.js', (c) => c.body(DOCS_JS, 200, { 'Content-Type': 'text/javascript; charset=utf-8' }))
  app.get('/docs/docs.css', (c) => c.body(DOCS_CSS, 200, { 'Content-Type': 'text/css; charset=utf-8' }))
}
