import { HTTPException } from 'hono/http-exception'
import { Problem } from './problem'

const HTTP_EXCEPTION_TYPES: Record<number, string> = {
  400: 'invalid-json',
  413: 'payload-too-large',
  415: 'unsupported-media-type',
}

/**
 * Any thrown value as a Problem. Hono's own HTTPExceptions (malformed JSON,
 * wrong Content-Type) keep their status; anything unexpected becomes a
 * generic 500 that reveals nothing about the cause.
 */
export function toProblem(error: unknown): Problem {
  if (error instanceof Problem) return error
  if (error instanceof HTTPException && error.status < 500) {
    return new Problem({
      status: error.status,
      type: HTTP_EXCEPTION_TYPES[error.status] ?? 'bad-request',
      title: error.status === 415 ? 'Unsupported media type' : 'Bad request',
      detail:
        error.status === 415 ? 'Send the body as application/json.' : error.message || 'The request could not be read.',
    })
  }
  return new Problem({
    status: 500,
    type: 'internal',
    title: 'Internal error',
    detail: 'Something went wrong on our side. Quote the request ID to support.',
  })
}
