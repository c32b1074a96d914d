import { createRouter } from '../router'
import * as handlers from './incidents.handlers'
import * as routes from './incidents.routes'

export const incidents = createRouter().openapi(routes.list, handlers.list)
