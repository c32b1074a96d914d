import { z } from '@hono/zod-openapi'
import { jsonResponse, problemResponses } from '../../lib/openapi'
import { defineRoute } from '../router'

export const MailboxSchema = z
  .object({ items: z.array(z.object({ to: z.string(), subject: z.string(), text: z.string(), sent_at: z.string() })) })
  .openapi('DevMailbox')

export const mailbox = defineRoute(
  { audience: 'public' },
  {
    method: 'get',
    path: '/dev/mailbox',
    tags: ['Development'],
    summary: 'Development only: the mails the app sent, newest first (404 in any other environment)',
    responses: { 200: jsonResponse(MailboxSchema, 'Mails'), ...problemResponses(404) },
  },
)

export type MailboxRoute = typeof mailbox
