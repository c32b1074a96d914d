import { CHECKLIST_EN } from './checklist-en'
import { SEED_CHECKLIST } from './catalogue.generated'

/**
 * The answer this product states for each seed row: the seed's own text,
 * except where the seed names the infrastructure of the vendor it came
 * from (AWS) rather than this service's (Cloudflare). Handing a customer
 * "AWS Shield" for a service that does not run on AWS would be false.
 */
const CORRECTED: Record<string, { ja: string; en: string }> = {
  'SE-28': {
    ja: '不正アクセスの兆候（総当たり、ロックアウト、新しいネットワークからのサインイン、大量ダウンロード）を検知し通知',
    en: 'Signs of intrusion (brute force, lock-outs, sign-in from a new network, mass download) detected and alerted',
  },
  'SE-31': {
    ja: 'Cloudflare の DDoS 対策と、IP・テナント・トークン単位の流量制限による対策',
    en: 'Countered by Cloudflare DDoS protection and per-IP, per-tenant and per-token rate limits',
  },
  'SE-46': {
    ja: 'Cloudflare の DDoS 対策と、IP・テナント・トークン単位の流量制限による対策',
    en: 'Countered by Cloudflare DDoS protection and per-IP, per-tenant and per-token rate limits',
  },
}

export type StatedAnswer = { ja: string; en: string; corrected: boolean }

/** The stated answer of the seed row at `index` (0-based, seed order). */
export function statedAnswer(index: number): StatedAnswer {
  const row = SEED_CHECKLIST[index]!
  const fix = CORRECTED[row.single]
  return fix ? { ...fix, corrected: true } : { ja: row.answer, en: CHECKLIST_EN[index]!.answer, corrected: false }
}

/** The stated answers of every seed row a requirement row answers, in seed order. */
export function statedAnswersOf(requirement: string): StatedAnswer[] {
  return SEED_CHECKLIST.flatMap((row, i) => (row.requirement === requirement ? [statedAnswer(i)] : []))
}
