import { listTenantSessions } from '../../identity/sessions'
import { accountStats, planSpread, tenantFacts, tenantPolicy } from './facts'
import { defineProvider, plural } from './provider'

const MIB = 1024 * 1024

function size(bytes: number) {
  return bytes >= 1024 * MIB ? `${(bytes / (1024 * MIB)).toFixed(1)} GiB` : `${(bytes / MIB).toFixed(1)} MiB`
}

/**
 * EX-3 (seats and concurrent sessions), EX-4 (storage quota), GE-3 (storage
 * by plan): the plan's limits and the use against them, enforced on every
 * write and sign-in.
 */
export const planLimits = defineProvider({
  name: 'plan-limits',
  ids: ['EX-3', 'EX-4', 'GE-3'],
  async collect(ctx) {
    if (ctx.tenantId === null) {
      const spread = await planSpread(ctx)
      const plans = spread.plans.map((p) => ({ ...p, storage: size(p.storageBytes) }))
      const list = plans.map((p) => `${p.id}: ${p.seats} seats, ${p.concurrentSessions} sessions, ${p.storage}`).join('; ')
      return {
        'EX-3': {
          status: spread.overSeatLimit === 0 ? 'met' : 'not_met',
          value: plans.map((p) => ({ plan: p.id, seats: p.seats, concurrent_sessions: p.concurrentSessions })),
          summary: {
            en: `Seats and concurrent sessions per plan (${list}). ${spread.atSeatLimit} of ${spread.tenants} tenants have every seat taken; ${spread.overSeatLimit} exceed their plan.`,
            ja: `プランごとのアカウント数・同時セッション数の上限（${list}）。${spread.tenants}テナント中 ${spread.atSeatLimit}テナントが上限まで使用、超過 ${spread.overSeatLimit}`,
          },
          evidence: { plans, tenants: spread.tenants, tenants_at_seat_limit: spread.atSeatLimit, tenants_over_seat_limit: spread.overSeatLimit },
        },
        'EX-4': {
          status: spread.overQuota === 0 ? 'met' : 'not_met',
          value: plans.map((p) => ({ plan: p.id, storage_bytes: p.storageBytes })),
          summary: {
            en: `Storage quotas per plan, checked in the same statement as every write: ${size(spread.storageUsedBytes)} stored across ${plural(spread.tenants, 'tenant')}; the fullest uses ${Math.round((spread.fullestRatio ?? 0) * 100)}% of its quota; ${spread.overQuota} are over it.`,
            ja: `プランごとのストレージ上限（書き込みと同じ文で判定）。${spread.tenants}テナント合計 ${size(spread.storageUsedBytes)}、最大使用率 ${Math.round((spread.fullestRatio ?? 0) * 100)}%、超過 ${spread.overQuota}`,
          },
          evidence: { storage_used_bytes: spread.storageUsedBytes, tenants_over_quota: spread.overQuota, fullest_ratio: spread.fullestRatio },
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
    const seatsUsed = stats.admin.accounts + stats.member.accounts
    const used = tenant!.storageUsedBytes
    return {
      'EX-3': {
        status: seatsUsed <= plan.seats && sessions.length <= plan.concurrentSessions ? 'met' : 'not_met',
        value: { seats: plan.seats, seats_used: seatsUsed, concurrent_sessions: plan.concurrentSessions, sessions_live: sessions.length, sessions_per_account: policy.sessions_per_account },
        summary: {
          en: `The ${plan.name} plan allows ${plan.seats} active accounts (${seatsUsed} in use) and ${plan.concurrentSessions} concurrent sessions (${sessions.length} live now), at most ${policy.sessions_per_account} per account.`,
          ja: `${plan.name} プラン: 有効アカウント上限 ${plan.seats}（使用中 ${seatsUsed}）、同時セッション上限 ${plan.concurrentSessions}（現在 ${sessions.length}）、1アカウントあたり最大 ${policy.sessions_per_account}`,
        },
        evidence: { plan: plan.id, seats: plan.seats, active_accounts: seatsUsed, concurrent_sessions: plan.concurrentSessions, live_sessions: sessions.length, sessions_per_account: policy.sessions_per_account },
      },
      'EX-4': {
        status: used <= plan.storageBytes ? 'met' : 'not_met',
        value: { storage_bytes: plan.storageBytes, storage_used_bytes: used },
        summary: {
          en: `The ${plan.name} plan allows ${size(plan.storageBytes)}; ${size(used)} (${Math.round((used / plan.storageBytes) * 100)}%) is in use, checked in the same statement as every write.`,
          ja: `${plan.name} プランのストレージ上限 ${size(plan.storageBytes)}、使用量 ${size(used)}（${Math.round((used / plan.storageBytes) * 100)}%）。書き込みごとに同じ文で判定`,
        },
        evidence: { plan: plan.id, storage_bytes: plan.storageBytes, storage_used_bytes: used },
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
