import type { Database } from '../../db/client'
import { Problem } from '../../lib/problem'
import type { SlaReport, SlaRow } from '../../schemas/sla'
import { REQUIREMENTS } from './catalogue/catalogue.generated'
import { tenantFacts } from './evidence/facts'
import type { EvidenceContext, RowEvidence, Transport } from './evidence/provider'
import { EVIDENCE_PROVIDERS } from './evidence/registry'
import { slaMonth } from './month'

export type SlaReportOptions = {
  /** `YYYY-MM`; default: the current month in JST. */
  month?: string | undefined
  now?: number
  /** The request being answered, for the row about the connection (SE-5). */
  transport?: Transport | null
}

export type SlaReportResult = {
  report: SlaReport
  /** Who the report is for (null: the platform), for the checklist's heading. */
  tenant: { id: string; slug: string; name: string } | null
}

/** A row no provider answered: honest about it rather than silent. */
const UNANSWERED: RowEvidence = {
  status: 'not_yet_measured',
  value: null,
  summary: { en: 'Not measured yet.', ja: '未計測' },
  evidence: {},
  note: { en: 'No evidence provider covers this row yet.', ja: 'この項目の根拠はまだ収集されていません' },
}

/**
 * The live SLA report (R-SLA): every row of REQUIREMENTS.md with its
 * commitment, the value in force and the evidence behind it, for one tenant
 * or (tenantId null) the whole platform. Each provider reads what the
 * software really has; the reads are shared across providers and do not grow
 * with the number of tenants, so a report costs a couple of dozen queries at
 * most. A tenant that does not exist is 404.
 *
 * Reading it is not audited: it holds settings and counts, not the tenant's
 * records, files or personal data.
 */
export async function slaReport(env: Env, db: Database, tenantId: string | null, options: SlaReportOptions = {}): Promise<SlaReportResult> {
  const now = options.now ?? Date.now()
  const month = slaMonth(options.month, now)
  const shared = new Map<string, Promise<unknown>>()
  const ctx: EvidenceContext = {
    env,
    db,
    tenantId,
    month,
    now,
    transport: options.transport ?? null,
    once<T>(key: string, load: () => Promise<T>) {
      let result = shared.get(key) as Promise<T> | undefined
      if (!result) {
        result = load()
        shared.set(key, result)
      }
      return result
    },
  }
  const tenant = await tenantFacts(ctx)
  if (tenantId !== null && !tenant) throw Problem.notFound('tenant', tenantId)

  const answers = await Promise.all(EVIDENCE_PROVIDERS.map(async (provider) => ({ provider, rows: await provider.collect(ctx) })))
  const byId = new Map<string, RowEvidence>()
  for (const { provider, rows } of answers) {
    for (const id of provider.ids) {
      const row = rows[id]
      if (row) byId.set(id, row)
    }
  }

  const rows: SlaRow[] = REQUIREMENTS.map((req) => {
    const e = byId.get(req.id) ?? UNANSWERED
    return {
      id: req.id,
      covers: [...req.covers],
      area: req.area,
      category: req.areaName,
      commitment: req.commitment,
      in_software: req.inSoftware,
      status: e.status,
      value: e.value ?? null,
      summary: e.summary,
      evidence: e.evidence,
      note: e.note ?? null,
    }
  })
  const counts = { met: 0, not_met: 0, not_yet_measured: 0, organisational: 0 }
  for (const row of rows) counts[row.status]++
  return {
    report: {
      scope: tenantId === null ? 'platform' : 'tenant',
      tenant_id: tenantId,
      month: month.month,
      period: { from: month.from, until: month.until },
      generated_at: new Date(now).toISOString(),
      counts,
      rows,
    },
    tenant: tenant ? { id: tenant.id, slug: tenant.slug, name: tenant.name } : null,
  }
}
