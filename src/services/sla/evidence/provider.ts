import type { Database } from '../../../db/client'
import type { REQUIREMENTS } from '../catalogue/catalogue.generated'
import type { SlaMonth } from '../month'

/** A row of REQUIREMENTS.md, by its ID as written there (`SE-13`, `SE-15/20`). */
export type RequirementId = (typeof REQUIREMENTS)[number]['id']

/**
 * - `met`: the live evidence shows the commitment holds now;
 * - `not_met`: the live evidence shows it does not;
 * - `not_yet_measured`: this build has no evidence for it (yet): never a guessed value;
 * - `organisational`: a promise kept by people, shown with its stated answer.
 */
export type SlaStatus = 'met' | 'not_met' | 'not_yet_measured' | 'organisational'

export type Bilingual = { en: string; ja: string }

/** What a provider says about one row. */
export type RowEvidence = {
  status: SlaStatus
  /** The value in force, machine-readable (null when there is none to show). */
  value: unknown
  /** One sentence people read: the value and what backs it. The checklist prints it next to the stated answer. */
  summary: Bilingual
  /** The facts read to decide, as found (counts, settings, timestamps, where they came from). */
  evidence: Record<string, unknown>
  /** What is missing or worth knowing, if anything. */
  note?: Bilingual
}

/** The request the report answers, for the one row that is about the connection itself (SE-5). */
export type Transport = { protocol: string; tlsVersion: string | null; tlsCipher: string | null }

export type EvidenceContext = {
  env: Env
  db: Database
  /** The tenant whose report this is; null for the platform-wide view. */
  tenantId: string | null
  month: SlaMonth
  now: number
  transport: Transport | null
  /**
   * Runs `load` once per report however many providers ask for `key`, so
   * providers share the few queries a report makes (see facts.ts).
   */
  once<T>(key: string, load: () => Promise<T>): Promise<T>
}

/**
 * A source of live evidence for some rows. `collect` must answer every ID
 * it declares and only those (defineProvider checks it at compile time),
 * with a bounded number of queries that does not grow with the number of
 * tenants or accounts: the platform-wide view uses aggregates.
 */
export type EvidenceProvider = {
  name: string
  ids: readonly RequirementId[]
  collect(ctx: EvidenceContext): Promise<Partial<Record<RequirementId, RowEvidence>>>
}

/** Declares a provider; its `collect` must return exactly the rows it names. */
export function defineProvider<const I extends readonly RequirementId[]>(provider: {
  name: string
  ids: I
  collect(ctx: EvidenceContext): Promise<Record<I[number], RowEvidence>>
}): EvidenceProvider {
  return provider
}

/** A count with its English noun: `1 admin`, `2 admins`. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`
}
