import { createRouter } from '../router'
import * as handlers from './backups.handlers'
import * as routes from './backups.routes'

export const backups = createRouter().openapi(routes.list, handlers.list)
