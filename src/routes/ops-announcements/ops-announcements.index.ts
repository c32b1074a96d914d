import { createRouter } from '../router'
import * as handlers from './ops-announcements.handlers'
import * as routes from './ops-announcements.routes'

export const opsAnnouncements = createRouter().openapi(routes.list, handlers.list).openapi(routes.create, handlers.create)
