import { listTenantSessions } from '../../identity/sessions'
import { describeLimits } from '../../tenancy/limits'
import { accountStats, planSpread, tenantFacts, tenantPolicy } from './facts'
import { defineProvider, plural } from './provider'

const MIB = 1024 * 1024

function size(bytes: number) {
  return bytes >= 1024 * MIB ? `${(bytes / (1024 * MIB)).toFixed(1)} GiB` : `${(bytes / MIB).toFixed(1)} MiB`
}

/**
 * EX-3 (seats and concurrent sessions), EX-4 (storage quota), GE-3 (storage
 * by plan): the limits in force (the plan's, or a per-contract override) and
 * the use against them, enforced on every write and sign-in. GE-3 is about
 * what the plans offer, so it shows the plan's storage.
 */
export const planLimits = defineProvider({
  name: 'plan-limits',
  ids: ['EX-3', 'EX-4', 'GE-3'],
  async collect(ctx) {
    if (ctx.tenantId === null) {
      const spread = await planSpread(ctx)
      const plans = spread.plans.map((p) => ({ ...p, storage: size(p.storageBytes) }))
      const o = spread.overrides
      const list = plans.map((p) => `${p.id}: ${p.seats} seats, ${p.concurrentSessions} sessions, ${p.storage}`).join('; ')
      return {
        'EX-3': {
          status: spread.overSeatLimit === 0 ? 'met' : 'not_met',
          value: plans.map((p) => ({ plan: p.id, seats: p.seats, concurrent_sessions: p.concurrentSessions })),
          summary: {
            en: `Seats and concurrent sessions per plan (${list}); ${o.seats} tenants have a per-contract seat limit and ${o.concurrentSessions} a session limit. ${spread.atSeatLimit} of ${spread.tenants} tenants have every seat in force taken; ${spread.overSeatLimit} exceed it.`,
            ja: `プランごとのアカウント数・同時セッション数の上限（${list}）。契約によるアカウント数上限 ${o.seats}テナント、セッション数上限 ${o.concurrentSessions}テナント。${spread.tenants}テナント中 ${spread.atSeatLimit}テナントが上限まで使用、超過 ${spread.overSeatLimit}`,
          },
          evidence: {
            plans,
            tenants: spread.tenants,
            tenants_with_contract_seats: o.seats,
            tenants_with_contract_sessions: o.concurrentSessions,
            tenants_at_seat_limit: spread.atSeatLimit,
            tenants_over_seat_limit: spread.overSeatLimit,
          },
        },
        'EX-4': {
          status: spread.overQuota === 0 ? 'met' : 'not_met',
          value: plans.map((p) => ({ plan: p.id, storage_bytes: p.storageBytes })),
          summary: {
            en: `Storage quotas per plan (${o.storageBytes} tenants with a per-contract quota), checked in the same statement as every write: ${size(spread.storageUsedBytes)} stored across ${plural(spread.tenants, 'tenant')}; the fullest uses ${Math.round((spread.fullestRatio ?? 0) * 100)}% of its quota in force; ${spread.overQuota} are over it.`,
            ja: `プランごとのストレージ上限（契約による上限 ${o.storageBytes}テナント、書き込みと同じ文で判定）。${spread.tenants}テナント合計 ${size(spread.storageUsedBytes)}、最大使用率 ${Math.round((spread.fullestRatio ?? 0) * 100)}%、超過 ${spread.overQuota}`,
          },
          evidence: {
            storage_used_bytes: spread.storageUsedBytes,
            tenants_with_contract_quota: o.storageBytes,
            tenants_over_quota: spread.overQuota,
            fullest_ratio: spread.fullestRatio,
          },
        },
        'GE-3': {
          status: 'met',
          value: plans.map((p) => ({ plan: p.id, storage_bytes: p.storageBytes })),
          summary: {
            en: `Storage depends on the plan: ${plans.map((p) => `${p.name} ${p.storage}`).join(', ')}.`,
            ja: `ストレージ容量はプランにより異なる: ${plans.map((p) => `${p.name} ${p.storage}`).join('、')}`,
          },
          evidence: { plans },
        },
      }
    }
    const tenantId = ctx.tenantId
    const [tenant, stats, { policy }, sessions] = await Promise.all([
      tenantFacts(ctx),
      accountStats(ctx),
      tenantPolicy({ ...ctx, tenantId }),
      listTenantSessions(ctx.env, tenantId, null),
    ])
    const plan = tenant!.plan
    const limits = tenant!.limits
    const { seats, concurrent_sessions: concurrentSessions, storage_bytes: storageBytes } = limits.inForce
    const source = describeLimits(limits)
    const seatsUsed = stats.admin.accounts + stats.member.accounts
    const used = tenant!.storageUsedBytes
    const byContract = (key: 'seats' | 'concurrent_sessions' | 'storage_bytes') => source[key].source === 'contract'
    const allows = (keys: ('seats' | 'concurrent_sessions' | 'storage_bytes')[]) =>
      keys.some(byContract)
        ? { en: `This tenant's contract (on the ${plan.name} plan) allows`, ja: `このテナントの契約（${plan.name} プラン）の上限:` }
        : { en: `The ${plan.name} plan allows`, ja: `${plan.name} プラン:` }
    const ex3 = allows(['seats', 'concurrent_sessions'])
    const ex4 = allows(['storage_bytes'])
    return {
      'EX-3': {
        status: seatsUsed <= seats && sessions.length <= concurrentSessions ? 'met' : 'not_met',
        value: { seats, seats_used: seatsUsed, concurrent_sessions: concurrentSessions, sessions_live: sessions.length, sessions_per_account: policy.sessions_per_account },
        summary: {
          en: `${ex3.en} ${seats} active accounts (${seatsUsed} in use) and ${concurrentSessions} concurrent sessions (${sessions.length} live now), at most ${policy.sessions_per_account} per account.`,
          ja: `${ex3.ja} 有効アカウント上限 ${seats}（使用中 ${seatsUsed}）、同時セッション上限 ${concurrentSessions}（現在 ${sessions.length}）、1アカウントあたり最大 ${policy.sessions_per_account}`,
        },
        evidence: {
          plan: plan.id,
          seats: source.seats,
          active_accounts: seatsUsed,
          concurrent_sessions: source.concurrent_sessions,
          live_sessions: sessions.length,
          sessions_per_account: policy.sessions_per_account,
          plan_limits: { seats: plan.seats, concurrent_sessions: plan.concurrentSessions },
        },
      },
      'EX-4': {
        status: used <= storageBytes ? 'met' : 'not_met',
        value: { storage_bytes: storageBytes, storage_used_bytes: used },
        summary: {
          en: `${ex4.en} ${size(storageBytes)}; ${size(used)}${storageBytes > 0 ? ` (${Math.round((used / storageBytes) * 100)}%)` : ''} is in use, checked in the same statement as every write.`,
          ja: `${ex4.ja} ストレージ上限 ${size(storageBytes)}、使用量 ${size(used)}${storageBytes > 0 ? `（${Math.round((used / storageBytes) * 100)}%）` : ''}。書き込みごとに同じ文で判定`,
        },
        evidence: { plan: plan.id, storage_bytes: source.storage_bytes, storage_used_bytes: used, plan_storage_bytes: plan.storageBytes },
      },
      'GE-3': {
        status: 'met',
        value: { plan: plan.id, storage_bytes: plan.storageBytes },
        summary: { en: `Storage depends on the plan; this tenant's ${plan.name} plan has ${size(plan.storageBytes)}.`, ja: `ストレージ容量はプランにより異なる。このテナントの ${plan.name} プランは ${size(plan.storageBytes)}` },
        evidence: { plan: plan.id, storage_bytes: plan.storageBytes },
      },
    }
  },
})
