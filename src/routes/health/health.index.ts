import { createRouter } from '../router'
import * as handlers from './health.handlers'
import * as routes from './health.routes'

export const health = createRouter().openapi(routes.live, handlers.live).openapi(routes.ready, handlers.ready)
