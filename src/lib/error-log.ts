import { DrizzleQueryError } from 'drizzle-orm'

/** The log fields describing an unexpected error. */
export type ErrorLogFields = {
  error: string
  stack?: string
  /** SHA-256 (first 16 hex digits) of the failing statement's SQL text: the same query always has the same fingerprint. */
  query_fingerprint?: string
}

/**
 * What a log line may say about an unexpected error. A failed query's
 * message carries its bound parameters (user ids today, e-mails or hashes
 * tomorrow), so for those only the underlying driver error and a
 * fingerprint of the SQL text are kept, and quoted values in any error's
 * message (D1 quotes a value it cannot bind) are masked. The stack keeps
 * its frames but never the message line that holds the parameters.
 */
export async function describeError(error: unknown): Promise<ErrorLogFields> {
  if (!(error instanceof Error)) return { error: String(error) }
  const query = queryErrorOf(error)
  // Errors that are not drizzle's (raw D1 errors rethrown across the AuditChain RPC, say) may
  // quote values too: mask them alike, and keep only the stack's frames.
  if (!query) return { error: maskQuoted(`${error.name}: ${error.message}`), stack: framesOf(error.stack) }
  const cause = query.cause instanceof Error ? `${query.cause.name}: ${query.cause.message}` : 'no driver error'
  return {
    // drizzle leaves the class's name as plain "Error".
    error: `DrizzleQueryError: ${maskQuoted(cause)}`,
    stack: framesOf(error.stack),
    query_fingerprint: await fingerprint(query.query),
  }
}

function queryErrorOf(error: Error): DrizzleQueryError | null {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof DrizzleQueryError) return e
  }
  return null
}

function maskQuoted(text: string) {
  return text.replace(/'(?:[^']|'')*'/g, "'?'")
}

function framesOf(stack: string | undefined) {
  return stack
    ?.split('\n')
    .filter((line) => /^\s+at /.test(line))
    .join('\n')
}

async function fingerprint(sql: string) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(sql)))
  return [...digest.slice(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join('')
}
