import { createRouter } from '../router'
import * as handlers from './ops-sla.handlers'
import * as routes from './ops-sla.routes'

export const opsSla = createRouter().openapi(routes.report, handlers.report).openapi(routes.checklist, handlers.checklist)
