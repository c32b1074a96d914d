import { createRouter } from '../router'
import * as handlers from './usage.handlers'
import * as routes from './usage.routes'

export const usage = createRouter().openapi(routes.getUsage, handlers.getUsage)
