import { createRouter } from '../router'
import * as handlers from './sessions.handlers'
import * as routes from './sessions.routes'

export const sessions = createRouter().openapi(routes.list, handlers.list).openapi(routes.remove, handlers.remove)
