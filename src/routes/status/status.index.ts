import { createRouter } from '../router'
import * as handlers from './status.handlers'
import * as routes from './status.routes'

export const status = createRouter().openapi(routes.status, handlers.status)
