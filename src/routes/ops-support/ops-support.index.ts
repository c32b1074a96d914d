import { createRouter } from '../router'
import * as handlers from './ops-support.handlers'
import * as routes from './ops-support.routes'

export const opsSupport = createRouter().openapi(routes.records, handlers.records).openapi(routes.files, handlers.files)
