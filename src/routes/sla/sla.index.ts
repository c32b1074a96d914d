import { createRouter } from '../router'
import * as handlers from './sla.handlers'
import * as routes from './sla.routes'

export const sla = createRouter().openapi(routes.report, handlers.report).openapi(routes.checklist, handlers.checklist)
