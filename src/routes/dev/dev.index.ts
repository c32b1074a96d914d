import { createRouter } from '../router'
import * as handlers from './dev.handlers'
import * as routes from './dev.routes'

export const dev = createRouter().openapi(routes.mailbox, handlers.mailbox)
