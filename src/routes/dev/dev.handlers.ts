import { database } from '../../db/client'
import { Problem } from '../../lib/problem'
import { listMailbox } from '../../services/mail/mail'
import type { AppRouteHandler } from '../router'
import type { MailboxRoute } from './dev.routes'

export const mailbox: AppRouteHandler<MailboxRoute> = async (c) => {
  // Exactly like an unknown route anywhere but development.
  if (c.env.ENVIRONMENT !== 'development') {
    throw Problem.noRoute(c.req.path)
  }
  c.header('Cache-Control', 'no-store')
  return c.json({ items: await listMailbox(database(c.env)) }, 200)
}
