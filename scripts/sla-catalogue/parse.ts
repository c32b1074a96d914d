/**
 * Parsers for the two sources of the SLA report: ../shared/REQUIREMENTS.md
 * (the requirement rows with their IDs) and the seed checklist
 * (../shared/seed/*.txt, the vendor's answered METI checklist in Japanese).
 * Pure functions with no imports: scripts/generate-sla-catalogue.mjs runs
 * them under Node to write src/services/sla/catalogue/catalogue.generated.ts,
 * and test/sla-catalogue.test.ts runs them inside workerd to prove that
 * module is still in step with the sources.
 */

export type RequirementRow = {
  /** As written in REQUIREMENTS.md: `SE-13`, or `SE-15/20` for a row covering two seed rows' IDs. */
  id: string
  /** Every single ID the row stands for: `SE-15/20` covers SE-15 and SE-20. */
  covers: string[]
  /** The ID prefix: AV, RE, PF, EX, SU, DM, SE, GE. */
  area: string
  /** The section's English name: Availability, Reliability, … */
  areaName: string
  commitment: string
  inSoftware: string
  /** The software column says `ORG`: a promise kept by people, not code. */
  organisational: boolean
}

export type SeedRow = {
  /** 1-based position in the seed. */
  no: number
  /** The REQUIREMENTS.md row this seed row is answered by (its `id`). */
  requirement: string
  /** The single ID of this seed row (`AV-9` for both rows of the upgrade policy). */
  single: string
  category: string
  item: string
  description: string
  unit: string
  answer: string
}

const AREA_OF_CATEGORY: Record<string, string> = {
  可用性: 'AV',
  信頼性: 'RE',
  性能: 'PF',
  拡張性: 'EX',
  サポート: 'SU',
  データ管理: 'DM',
  セキュリティ: 'SE',
  サービス全般: 'GE',
}

/**
 * Seed rows that answer the same requirement as the row before them, by
 * their 規程内容 (description): the checklist asks about the upgrade policy
 * and its notice in two rows, and about the backup site and its location in
 * two rows, where REQUIREMENTS.md has one ID each (AV-9, DM-10).
 */
const SAME_REQUIREMENT_AS_PREVIOUS = new Set([
  'バージョンアップ時の通告',
  '保存したデータやアプリケーションが存在するデータセンター、バックアップサイトの場所',
])

/**
 * The 測定単位 (unit) vocabulary of the checklist. A three-cell row is
 * (description, unit, answer) when its middle cell is a unit, else
 * (item, description, answer) under a unit cell merged from the rows above.
 */
const UNIT = /^(有無|内容|時間|回|頻度|世代数|設定状況|可否|処理能力|稼働率)/

function fail(message: string): never {
  throw new Error(`SLA catalogue: ${message}`)
}

/** Splits `| a | b | c |` into trimmed cells. */
function cellsOf(line: string): string[] {
  const inner = line.trim().replace(/^\|/, '').replace(/\|$/, '')
  return inner.split('|').map((cell) => cell.trim())
}

/** Every requirement row of REQUIREMENTS.md, in document order. */
export function parseRequirements(markdown: string): RequirementRow[] {
  const rows: RequirementRow[] = []
  let areaName: string | null = null
  let area: string | null = null
  for (const line of markdown.split(/\r?\n/)) {
    const heading = /^##\s+(.+?)\s+\(([A-Z]{2})\)\s*$/.exec(line)
    if (heading) {
      areaName = heading[1]!
      area = heading[2]!
      continue
    }
    if (/^##\s/.test(line)) {
      areaName = null
      area = null
      continue
    }
    if (!area || !areaName || !line.startsWith('|')) continue
    const cells = cellsOf(line)
    if (cells[0] === 'ID' || /^-+$/.test(cells[0] ?? '')) continue
    if (cells.length !== 3) fail(`requirement row with ${cells.length} cells: ${line}`)
    const [id, commitment, inSoftware] = cells as [string, string, string]
    const m = new RegExp(`^${area}-(\\d+(?:/\\d+)*)$`).exec(id)
    if (!m) fail(`malformed requirement ID ${JSON.stringify(id)} in section ${area}`)
    rows.push({
      id,
      covers: m[1]!.split('/').map((n) => `${area}-${Number(n)}`),
      area,
      areaName,
      commitment,
      inSoftware,
      organisational: /^ORG\b/.test(inSoftware),
    })
  }
  const seen = new Set<string>()
  for (const row of rows) {
    for (const single of row.covers) {
      if (seen.has(single)) fail(`${single} appears in two requirement rows`)
      seen.add(single)
    }
  }
  return rows
}

type Column = 'category' | 'item' | 'description' | 'unit' | 'answer'

/** Which columns a row's cells fill; the rest are merged from the rows above (rowspan). */
function shapeOf(cells: string[]): Column[] {
  switch (cells.length) {
    case 5:
      return ['category', 'item', 'description', 'unit', 'answer']
    case 4:
      return ['item', 'description', 'unit', 'answer']
    case 3:
      return UNIT.test(cells[1]!) ? ['description', 'unit', 'answer'] : ['item', 'description', 'answer']
    case 2:
      return ['description', 'answer']
    default:
      return fail(`a checklist row with ${cells.length} cells: ${cells.join(' | ')}`)
  }
}

/**
 * The seed checklist's rows in order, merged cells filled in: the seed is a
 * spreadsheet pasted as Markdown, so a cell spanning rows (種別, an item, a
 * unit) appears only in its first row, a cell's line breaks continue the
 * row on the next line, and each category's block repeats the header.
 * Each row is matched to the REQUIREMENTS.md row that answers it, by
 * position within its category (the IDs were numbered down the seed).
 */
export function parseSeed(text: string, requirements: RequirementRow[]): SeedRow[] {
  // Logical rows: a line that does not open a new row continues the previous one.
  const logical: string[] = []
  for (const line of text.split(/\r?\n/)) {
    const opens = line.startsWith('|') && line.trim() !== '|'
    if (opens) logical.push(line)
    else if (logical.length > 0) logical[logical.length - 1] += `\n${line}`
  }

  type Partial = Record<Column, string | null>
  const tables: Partial[][] = []
  for (const row of logical) {
    const cells = cellsOf(row.replace(/\s*\n\s*/g, ' '))
    while (cells.length > 0 && cells[cells.length - 1] === '') cells.pop()
    if (cells[0] === '種別') {
      tables.push([])
      continue
    }
    if (cells.every((c) => /^-+$/.test(c))) continue
    if (tables.length === 0) fail('a checklist row before the first header')
    if (cells.some((c) => c === '')) fail(`an empty cell inside a row: ${row}`)
    const shape = shapeOf(cells)
    const partial: Partial = { category: null, item: null, description: null, unit: null, answer: null }
    shape.forEach((column, i) => (partial[column] = cells[i]!))
    tables[tables.length - 1]!.push(partial)
  }

  const rows: Omit<SeedRow, 'no' | 'requirement' | 'single'>[] = []
  for (const table of tables) {
    // A block's first rows may precede its 種別 cell (the security block does): they belong to it.
    let category = table.find((r) => r.category !== null)?.category ?? fail('a checklist block without a category')
    let item: string | null = null
    let unit: string | null = null
    for (const r of table) {
      if (r.category !== null) category = r.category
      if (r.item !== null) item = r.item
      if (r.unit !== null) unit = r.unit
      if (item === null || unit === null) fail(`a row without an item or unit: ${r.description}`)
      rows.push({ category, item, description: r.description!, unit, answer: r.answer! })
    }
  }

  // Match by position: the n-th new requirement of a category is its area's n-th ID.
  const byArea = new Map<string, number>()
  const rowOf = new Map(requirements.flatMap((req) => req.covers.map((single) => [single, req.id] as const)))
  const result: SeedRow[] = []
  rows.forEach((row, i) => {
    const area = AREA_OF_CATEGORY[row.category] ?? fail(`unknown category ${row.category}`)
    const previous = result[i - 1]
    let single: string
    if (SAME_REQUIREMENT_AS_PREVIOUS.has(row.description)) {
      if (!previous || previous.category !== row.category) fail(`${row.description} has no previous row to share`)
      single = previous.single
    } else {
      const n = (byArea.get(area) ?? 0) + 1
      byArea.set(area, n)
      single = `${area}-${n}`
    }
    const requirement = rowOf.get(single) ?? fail(`seed row ${i + 1} (${row.item}) would be ${single}, which REQUIREMENTS.md lacks`)
    result.push({ no: i + 1, requirement, single, ...row })
  })

  const used = new Set(result.map((r) => r.single))
  const missing = [...rowOf.keys()].filter((single) => !used.has(single))
  if (missing.length) fail(`REQUIREMENTS.md IDs no seed row answers: ${missing.join(', ')}`)
  return result
}
