import { DEFAULT_POLICY, type Policy } from '../../../schemas/policy'
import { policySpread, tenantPolicy } from './facts'
import { defineProvider } from './provider'

/** The policy fields a tenant has set to something other than the platform default. */
function customised(policy: Policy): string[] {
  return (Object.keys(DEFAULT_POLICY) as (keyof Policy)[]).filter((k) => JSON.stringify(policy[k]) !== JSON.stringify(DEFAULT_POLICY[k]))
}

/** EX-1: per-tenant settings, only ever stricter than the platform (the schema refuses looser values). */
export const customisation = defineProvider({
  name: 'customisation',
  ids: ['EX-1'],
  async collect(ctx) {
    if (ctx.tenantId === null) {
      const spread = await policySpread(ctx)
      return {
        'EX-1': {
          status: 'met',
          value: { tenants: spread.tenants, tenants_with_own_policy: spread.ownPolicies },
          summary: {
            en: `${spread.ownPolicies} of ${spread.tenants} tenants have their own policy (PUT /api/v1/policy); every value is at least as strict as the platform's.`,
            ja: `${spread.tenants}テナント中 ${spread.ownPolicies}テナントが独自のポリシーを設定（PUT /api/v1/policy）。値はプラットフォーム基準以上に厳しいもののみ`,
          },
          evidence: { tenants: spread.tenants, tenants_with_own_policy: spread.ownPolicies },
        },
      }
    }
    const { policy, savedAt } = await tenantPolicy({ ...ctx, tenantId: ctx.tenantId })
    const fields = customised(policy)
    return {
      'EX-1': {
        status: 'met',
        value: { customised: fields },
        summary: fields.length
          ? {
              en: `This tenant's policy sets ${fields.join(', ')} (saved ${savedAt}); values may only be stricter than the platform's.`,
              ja: `このテナントのポリシーで ${fields.join('、')} を設定（保存 ${savedAt}）。値はプラットフォーム基準以上に厳しいもののみ`,
            }
          : {
              en: 'This tenant uses the platform defaults; its admins may tighten any of them with PUT /api/v1/policy.',
              ja: 'プラットフォームの既定値を使用中。管理者は PUT /api/v1/policy でより厳しく設定可能',
            },
        evidence: { customised_fields: fields, policy_saved_at: savedAt || null },
      },
    }
  },
})
