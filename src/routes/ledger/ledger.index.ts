import { createRouter } from '../router'
import * as handlers from './ledger.handlers'
import * as routes from './ledger.routes'

export const ledger = createRouter().openapi(routes.ledger, handlers.ledger)
