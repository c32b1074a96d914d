import { createRouter } from '../router'
import * as handlers from './ops-mfa.handlers'
import * as routes from './ops-mfa.routes'

export const opsMfa = createRouter()
  .openapi(routes.startTotp, handlers.startTotp)
  .openapi(routes.confirmTotp, handlers.confirmTotp)
  .openapi(routes.mailCode, handlers.mailCode)
