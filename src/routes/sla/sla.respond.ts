import type { Context } from 'hono'
import type { AppEnv } from '../../env'
import type { ChecklistDocument } from '../../services/sla/checklist-document'
import type { Transport } from '../../services/sla/evidence/provider'

/** The request's own transport, for the row about encrypted traffic (SE-5). */
export function transportOf(c: Context<AppEnv>): Transport {
  const cf = (c.req.raw as { cf?: { tlsVersion?: unknown; tlsCipher?: unknown } }).cf
  const text = (v: unknown) => (typeof v === 'string' && v ? v : null)
  return { protocol: new URL(c.req.url).protocol, tlsVersion: text(cf?.tlsVersion), tlsCipher: text(cf?.tlsCipher) }
}

/**
 * A checklist as a download (CSV) or a page (HTML), never cached. The HTML
 * page brings its own Content-Security-Policy (no script, only its hashed
 * stylesheet), which the security headers keep rather than overwrite.
 */
export function sendChecklist(c: Context<AppEnv>, doc: ChecklistDocument) {
  const headers: Record<string, string> = { 'Content-Type': doc.contentType, 'Cache-Control': 'no-store' }
  if (doc.csp) headers['Content-Security-Policy'] = doc.csp
  else headers['Content-Disposition'] = `attachment; filename="${doc.filename}"`
  return c.body(doc.body, 200, headers)
}
