import { createRouter } from '../router'
import * as handlers from './users.handlers'
import * as routes from './users.routes'

export const users = createRouter()
  .openapi(routes.resetPassword, handlers.resetPassword)
  .openapi(routes.listCertificates, handlers.listCertificates)
  .openapi(routes.replaceCertificates, handlers.replaceCertificates)
