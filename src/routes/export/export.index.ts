import { createRouter } from '../router'
import * as handlers from './export.handlers'
import * as routes from './export.routes'

export const exportRoutes = createRouter().openapi(routes.exportData, handlers.exportData)
