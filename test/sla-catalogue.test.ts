import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { parseRequirements, parseSeed } from '../scripts/sla-catalogue/parse'
import { REQUIREMENTS, SEED_CHECKLIST } from '../src/services/sla/catalogue/catalogue.generated'
import { CATEGORY_EN, CHECKLIST_EN, UNIT_EN } from '../src/services/sla/catalogue/checklist-en'
import { ORGANISATIONAL_IDS } from '../src/services/sla/evidence/organisational'
import { PENDING_IDS } from '../src/services/sla/evidence/pending'
import { EVIDENCE_PROVIDERS } from '../src/services/sla/evidence/registry'

/**
 * The committed catalogue (src/services/sla/catalogue/catalogue.generated.ts)
 * against its sources, and the evidence registry against the catalogue. The
 * sources are ../shared/REQUIREMENTS.md and the seed checklist; vitest.config.ts
 * hands them in when this checkout sits next to them.
 */

const sourcesReadable = env.SLA_REQUIREMENTS_SOURCE !== '' && env.SLA_SEED_SOURCE !== ''

/** Table rows of the seed counted the dumbest way: lines opening a row, less headers and rules. */
function seedRowCount(text: string) {
  return text.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('| 種別 |') && !/^\|(-+\|)+$/.test(line)).length
}

describe('the generated SLA catalogue', () => {
  it.skipIf(!sourcesReadable)('is in step with ../shared/REQUIREMENTS.md and the seed (npm run sla:catalogue regenerates it)', () => {
    const requirements = parseRequirements(env.SLA_REQUIREMENTS_SOURCE)
    expect(requirements).toEqual(REQUIREMENTS)
    expect(parseSeed(env.SLA_SEED_SOURCE, requirements)).toEqual(SEED_CHECKLIST)
  })

  it.skipIf(!sourcesReadable)('has as many checklist rows as the seed has table rows (94), in the seed’s order', () => {
    expect(SEED_CHECKLIST).toHaveLength(seedRowCount(env.SLA_SEED_SOURCE))
    expect(SEED_CHECKLIST).toHaveLength(94)
    expect(SEED_CHECKLIST.map((r) => r.no)).toEqual(SEED_CHECKLIST.map((_, i) => i + 1))
    // Each seed row's item or description appears in the seed in the same order.
    let at = 0
    for (const row of SEED_CHECKLIST) {
      const found = env.SLA_SEED_SOURCE.indexOf(row.description, at)
      expect(found, row.description).toBeGreaterThanOrEqual(at)
      at = found
    }
  })

  it.skipIf(!sourcesReadable)('has every requirement ID of REQUIREMENTS.md, read from the file itself', () => {
    const ids = [...env.SLA_REQUIREMENTS_SOURCE.matchAll(/^\| ([A-Z]{2}-\d+(?:\/\d+)*) \|/gm)].map((m) => m[1])
    expect(ids).toHaveLength(73)
    expect(REQUIREMENTS.map((r) => r.id)).toEqual(ids)
  })

  it('answers every seed row by exactly one requirement, and every single ID of the requirements by a seed row', () => {
    const covered = REQUIREMENTS.flatMap((r) => r.covers)
    expect(new Set(covered).size).toBe(covered.length)
    expect(new Set(SEED_CHECKLIST.map((r) => r.single))).toEqual(new Set(covered))
    for (const row of SEED_CHECKLIST) {
      const req = REQUIREMENTS.find((r) => r.id === row.requirement)
      expect(req?.covers, `${row.no} ${row.requirement}`).toContain(row.single)
    }
    // 94 seed rows, 92 single IDs: the upgrade policy and the backup site each take two rows.
    expect(covered).toHaveLength(92)
    expect(SEED_CHECKLIST.filter((r) => r.single === 'AV-9' || r.single === 'DM-10')).toHaveLength(4)
  })

  it('has one English row per seed row, naming the same requirement, and English for every category and unit', () => {
    expect(CHECKLIST_EN).toHaveLength(SEED_CHECKLIST.length)
    expect(CHECKLIST_EN.map((r) => r.single)).toEqual(SEED_CHECKLIST.map((r) => r.single))
    for (const row of SEED_CHECKLIST) {
      expect(UNIT_EN[row.unit], row.unit).toBeTruthy()
      expect(CATEGORY_EN[row.single.split('-')[0]!]).toBeTruthy()
    }
  })
})

describe('the evidence registry', () => {
  const measured = EVIDENCE_PROVIDERS.filter((p) => p.name !== 'pending')

  it('lets no two providers measure the same row', () => {
    const ids = measured.flatMap((p) => p.ids)
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([])
  })

  it('covers every requirement row, by a provider or by an explained pending entry', () => {
    const covered = new Set([...PENDING_IDS, ...measured.flatMap((p) => p.ids)])
    expect(REQUIREMENTS.map((r) => r.id).filter((id) => !covered.has(id))).toEqual([])
  })

  it('names only requirement IDs of the catalogue', () => {
    const known = new Set<string>(REQUIREMENTS.map((r) => r.id))
    expect(EVIDENCE_PROVIDERS.flatMap((p) => p.ids).filter((id) => !known.has(id))).toEqual([])
  })

  it('answers every row REQUIREMENTS.md marks ORG with its stated answer', () => {
    const org = REQUIREMENTS.filter((r) => r.organisational).map((r) => r.id)
    expect(org.filter((id) => !ORGANISATIONAL_IDS.includes(id))).toEqual([])
  })

  it('measures availability (AV-5, RE-1, RE-2) from the operations module', () => {
    expect(measured.flatMap((p) => p.ids)).toEqual(expect.arrayContaining(['AV-5', 'RE-1', 'RE-2']))
  })

  it('measures the backup rows (DM-1, DM-3, SE-11) from the catalogue of snapshots, and leaves only PF-1 pending', () => {
    expect(PENDING_IDS).toEqual(['PF-1'])
    expect(measured.flatMap((p) => p.ids)).toEqual(expect.arrayContaining(['DM-1', 'DM-3', 'SE-11', 'DM-10', 'PF-3', 'AV-6']))
  })
})
