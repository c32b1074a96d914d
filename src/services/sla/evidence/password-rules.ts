import { PLATFORM } from '../../../schemas/policy'
import { accountStats, monthEvents, policySpread, tenantPolicy, type RoleStats } from './facts'
import { defineProvider, plural, type EvidenceContext, type RowEvidence } from './provider'

/**
 * SE-13, SE-19 (password maximum age by role), SE-15/20 (length, reuse and
 * strength rules), SE-14 (forced reset): the policy in force and what it
 * means for the accounts right now.
 */
export const passwordRules = defineProvider({
  name: 'password-rules',
  ids: ['SE-13', 'SE-19', 'SE-15/20', 'SE-14'],
  async collect(ctx) {
    const [stats, events] = await Promise.all([accountStats(ctx), monthEvents(ctx)])
    const resets = events.count('auth.password_reset', 'success')
    const awaiting = stats.admin.mustChange + stats.member.mustChange
    const forcedReset: RowEvidence = {
      status: 'met',
      value: { resets_this_month: resets, accounts_awaiting_change: awaiting },
      summary: {
        en: `Admins force a reset with POST /api/v1/users/{id}/reset-password (operators through the operator API): the old password stops working, sessions end, and a change is required at the next sign-in. ${plural(resets, 'forced reset')} in ${ctx.month.month}; ${plural(awaiting, 'account')} must change their password at their next sign-in.`,
        ja: `管理者が強制リセット可能（旧パスワード無効・セッション終了・次回サインイン時に変更必須）。${ctx.month.month} の強制リセット ${resets}件、次回サインイン時に変更が必要なアカウント ${awaiting}件`,
      },
      evidence: { forced_resets_this_month: resets, accounts_awaiting_change: awaiting },
    }
    if (ctx.tenantId === null) {
      const spread = await policySpread(ctx)
      return {
        'SE-13': platformAge(ctx, 'admin', stats.admin, spread.adminAgeStricter, spread.adminAgeMin, spread.tenants),
        'SE-19': platformAge(ctx, 'member', stats.member, spread.memberAgeStricter, spread.memberAgeMin, spread.tenants),
        'SE-15/20': {
          status: 'met',
          value: { min_length: PLATFORM.passwordMinLength, history: PLATFORM.passwordHistory.min },
          summary: {
            en: `Every tenant requires at least ${PLATFORM.passwordMinLength} characters, refuses common and guessable passwords, and forbids reusing the last ${PLATFORM.passwordHistory.min}; ${spread.minLengthStricter} of ${spread.tenants} tenants require more characters (up to ${spread.minLengthMax ?? PLATFORM.passwordMinLength}).`,
            ja: `全テナントで ${PLATFORM.passwordMinLength}文字以上、推測されやすい・よく使われるパスワードは拒否、直近 ${PLATFORM.passwordHistory.min}個の再利用禁止。${spread.tenants}テナント中 ${spread.minLengthStricter}テナントがより長い最小長を設定（最大 ${spread.minLengthMax ?? PLATFORM.passwordMinLength}文字）`,
          },
          evidence: {
            platform_min_length: PLATFORM.passwordMinLength,
            platform_history: PLATFORM.passwordHistory.min,
            strength_check: 'zxcvbn with common-password and near-miss matching',
            tenants: spread.tenants,
            tenants_requiring_longer: spread.minLengthStricter,
            longest_minimum: spread.minLengthMax,
          },
        },
        'SE-14': forcedReset,
      }
    }
    const { policy, savedAt } = await tenantPolicy({ ...ctx, tenantId: ctx.tenantId })
    const source = savedAt ? { policy_saved_at: savedAt } : { policy_saved_at: null, policy: 'platform defaults' }
    return {
      'SE-13': tenantAge('admin', policy.password_max_age_days.admin, stats.admin, source),
      'SE-19': tenantAge('member', policy.password_max_age_days.member, stats.member, source),
      'SE-15/20': {
        status: policy.password_min_length >= PLATFORM.passwordMinLength ? 'met' : 'not_met',
        value: { min_length: policy.password_min_length, history: policy.password_history },
        summary: {
          en: `Passwords need at least ${policy.password_min_length} characters (platform minimum ${PLATFORM.passwordMinLength}); common and guessable passwords are refused, and the last ${policy.password_history} cannot be reused.`,
          ja: `最小 ${policy.password_min_length}文字（プラットフォーム下限 ${PLATFORM.passwordMinLength}文字）、推測されやすい・よく使われるパスワードは拒否、直近 ${policy.password_history}個の再利用禁止`,
        },
        evidence: {
          min_length: policy.password_min_length,
          platform_min_length: PLATFORM.passwordMinLength,
          history: policy.password_history,
          strength_check: 'zxcvbn with common-password and near-miss matching',
          ...source,
        },
      },
      'SE-14': forcedReset,
    }
  },
})

const ROLE = { admin: { en: 'Admin', ja: '管理者' }, member: { en: 'User', ja: '利用者' } } as const

function tenantAge(role: 'admin' | 'member', days: number, stats: RoleStats, source: Record<string, unknown>): RowEvidence {
  const max = PLATFORM.passwordMaxAgeDays[role]
  return {
    status: days <= max ? 'met' : 'not_met',
    value: days,
    summary: {
      en: `${ROLE[role].en} passwords must change every ${days} days (platform maximum ${max}); ${stats.overdue} of ${stats.accounts} active ${role} accounts are past it and must change it at their next sign-in.`,
      ja: `${ROLE[role].ja}パスワードの変更期限 ${days}日（プラットフォーム上限 ${max}日）。期限切れ ${stats.overdue}/${stats.accounts}件は次回サインイン時に変更必須`,
    },
    evidence: {
      max_age_days: days,
      platform_max_age_days: max,
      active_accounts: stats.accounts,
      accounts_past_max_age: stats.overdue,
      oldest_password_change: stats.oldestPasswordChange,
      enforced_at: 'sign-in: a password past its age only gets a password-change-only session',
      ...source,
    },
  }
}

function platformAge(
  ctx: EvidenceContext,
  role: 'admin' | 'member',
  stats: RoleStats,
  stricter: number,
  shortest: number | null,
  tenants: number,
): RowEvidence {
  const max = PLATFORM.passwordMaxAgeDays[role]
  const operators = role === 'admin' ? ` Operators' passwords expire after ${PLATFORM.passwordMaxAgeDays.admin} days too.` : ''
  const operatorsJa = role === 'admin' ? `運用者のパスワードも ${PLATFORM.passwordMaxAgeDays.admin}日で期限切れ。` : ''
  return {
    status: 'met',
    value: max,
    summary: {
      en: `${ROLE[role].en} passwords must change at least every ${max} days on every tenant; ${stricter} of ${tenants} tenants set fewer days (shortest ${shortest ?? max}). ${stats.overdue} of ${stats.accounts} active ${role} accounts are past their tenant's age and must change it at their next sign-in.${operators}`,
      ja: `全テナントで${ROLE[role].ja}パスワードは ${max}日以内に変更必須。${tenants}テナント中 ${stricter}テナントがより短い期限を設定（最短 ${shortest ?? max}日）。期限切れ ${stats.overdue}/${stats.accounts}件は次回サインイン時に変更必須。${operatorsJa}`,
    },
    evidence: {
      platform_max_age_days: max,
      tenants,
      tenants_with_shorter_age: stricter,
      shortest_age_days: shortest,
      active_accounts: stats.accounts,
      accounts_past_max_age: stats.overdue,
      oldest_password_change: stats.oldestPasswordChange,
      as_of: new Date(ctx.now).toISOString(),
    },
  }
}
