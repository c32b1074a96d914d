import { createRouter } from '../router'
import * as handlers from './ops-audit.handlers'
import * as routes from './ops-audit.routes'

export const opsAudit = createRouter().openapi(routes.list, handlers.list).openapi(routes.verify, handlers.verify)
