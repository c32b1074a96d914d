import { toCsv } from '../../lib/csv'
import type { SlaReport, SlaRow } from '../../schemas/sla'
import { CATEGORY_EN, CHECKLIST_EN, UNIT_EN } from './catalogue/checklist-en'
import { SEED_CHECKLIST } from './catalogue/catalogue.generated'
import { statedAnswer } from './catalogue/stated-answers'
import type { SlaStatus } from './evidence/provider'

export type ChecklistLang = 'ja' | 'en'

/** The seed's own columns, in its order. */
export const CHECKLIST_HEADER: Record<ChecklistLang, readonly string[]> = {
  ja: ['種別', 'サービスレベル項目例', '規程内容', '測定単位', '回答'],
  en: ['Category', 'Service level item', 'Description', 'Unit', 'Answer'],
}

export const STATUS_LABEL: Record<ChecklistLang, Record<SlaStatus, string>> = {
  ja: { met: '現在', not_met: '未達', not_yet_measured: '未計測', organisational: '運用による回答' },
  en: { met: 'Now', not_met: 'Not met', not_yet_measured: 'Not measured yet', organisational: 'Organisational' },
}

/** One answered row of the checklist, in the seed's layout. */
export type ChecklistRow = {
  no: number
  requirement: string
  status: SlaStatus
  category: string
  item: string
  description: string
  unit: string
  /** The answer as the product states it (the seed's, or its correction). */
  stated: string
  /** The live value and the evidence behind it; for organisational rows, which keep their stated answer, at most a note. */
  live: LivePart[]
  /** The answer column: the stated answer with the live part next to it. */
  answer: string
}

/** A labelled piece of the live part: `現在: …`, `注: …`, `未計測: …`. */
export type LivePart = { label: string; text: string }

function trimStop(text: string) {
  return text.trim().replace(/[。.]$/, '')
}

function liveParts(row: SlaRow, lang: ChecklistLang): LivePart[] {
  const label = STATUS_LABEL[lang]
  const note = row.note?.[lang]
  const noteLabel = lang === 'ja' ? '注' : 'Note'
  switch (row.status) {
    case 'organisational':
      // The stated answer stands; a note says where the software stops short of it.
      return note ? [{ label: noteLabel, text: note }] : []
    case 'not_yet_measured':
      if (row.value === null) return [{ label: label.not_yet_measured, text: note ?? row.summary[lang] }]
      return [{ label: label.met, text: row.summary[lang] }, ...(note ? [{ label: label.not_yet_measured, text: note }] : [])]
    default:
      return [{ label: label[row.status], text: row.summary[lang] }, ...(note ? [{ label: noteLabel, text: note }] : [])]
  }
}

/** The live parts as one run of text, without doubled full stops. */
function joinParts(parts: LivePart[], lang: ChecklistLang): string {
  return parts.map((p) => `${p.label}: ${trimStop(p.text)}`).join(lang === 'ja' ? '。' : '. ')
}

/**
 * The checklist exactly as the seed lays it out, one row per seed row in
 * the seed's order, with the answer column filled from the live report:
 * the stated answer kept, the live value and its evidence next to it
 * (`有（現在: …）`). Merged cells of the seed (category, item, unit) are
 * repeated on every row so each row stands on its own in a spreadsheet.
 */
export function answeredChecklist(report: SlaReport, lang: ChecklistLang): ChecklistRow[] {
  const byId = new Map(report.rows.map((r) => [r.id, r]))
  return SEED_CHECKLIST.map((seed, i) => {
    const row = byId.get(seed.requirement)!
    const stated = statedAnswer(i)[lang]
    const live = liveParts(row, lang)
    const en = CHECKLIST_EN[i]!
    const area = seed.single.split('-')[0]!
    return {
      no: seed.no,
      requirement: seed.requirement,
      status: row.status,
      category: lang === 'ja' ? seed.category : CATEGORY_EN[area]!,
      item: lang === 'ja' ? seed.item : en.item,
      description: lang === 'ja' ? seed.description : en.description,
      unit: lang === 'ja' ? seed.unit : (UNIT_EN[seed.unit] ?? seed.unit),
      stated,
      live,
      answer: live.length === 0 ? stated : lang === 'ja' ? `${stated}（${joinParts(live, lang)}）` : `${stated} (${joinParts(live, lang)})`,
    }
  })
}

/**
 * The answered checklist as CSV for Excel: UTF-8 with a byte order mark,
 * CRLF, RFC 4180 quoting, formula-looking cells defused (lib/csv).
 */
export function checklistCsv(rows: ChecklistRow[], lang: ChecklistLang): string {
  return toCsv([...CHECKLIST_HEADER[lang]], rows.map((r) => [r.category, r.item, r.description, r.unit, r.answer]))
}
