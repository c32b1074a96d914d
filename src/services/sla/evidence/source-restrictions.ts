import { operatorAllowlist } from '../../policy/source-restrictions'
import { accountStats, operatorStats, policySpread, tenantPolicy } from './facts'
import { defineProvider, plural, type RowEvidence } from './provider'

/**
 * SE-16 (admins) and SE-21 (users): where each role may connect from (IP
 * allowlist), with what (a bound client certificate), and whether a second
 * factor is required, as the tenant's policy has them in force. A tenant
 * that switched none of them on for a role does not meet the row, and the
 * report says how to switch them on.
 */
export const sourceRestrictions = defineProvider({
  name: 'source-restrictions',
  ids: ['SE-16', 'SE-21'],
  async collect(ctx) {
    const stats = await accountStats(ctx)
    if (ctx.tenantId === null) {
      const [spread, operators] = await Promise.all([policySpread(ctx), operatorStats(ctx)])
      const opsRanges = operatorAllowlist(ctx.env).length
      const tenantsLine = (role: 'admin' | 'member') =>
        `of ${plural(spread.tenants, 'tenant')}, ${spread.ipAllowlist[role]} restrict ${role}s by IP, ${spread.clientCert[role]} require a client certificate for them and ${spread.mfa[role]} a second factor; ${stats[role].withMfa} of ${stats[role].accounts} active ${role} accounts have a second factor.`
      const tenantsLineJa = (role: 'admin' | 'member') =>
        `${spread.tenants}テナント中 IP制限 ${spread.ipAllowlist[role]}、クライアント証明書必須 ${spread.clientCert[role]}、二要素認証必須 ${spread.mfa[role]}。二要素認証登録済み ${stats[role].withMfa}/${stats[role].accounts}件`
      const perTenant = (role: 'admin' | 'member') => ({
        tenants: spread.tenants,
        tenants_with_ip_allowlist: spread.ipAllowlist[role],
        tenants_requiring_client_certificate: spread.clientCert[role],
        tenants_requiring_mfa: spread.mfa[role],
        active_accounts: stats[role].accounts,
        accounts_with_mfa: stats[role].withMfa,
      })
      return {
        'SE-16': {
          status: 'met',
          value: { operators_mfa_required: true, operator_ip_ranges: opsRanges },
          summary: {
            en: `Operators (the provider's admins) always sign in with a second factor${opsRanges ? ` and only from ${opsRanges} allowed IP ranges` : '; no operator IP allowlist is set'}. For tenant admins, ${tenantsLine('admin')}`,
            ja: `運用者（提供者側の管理者）は常に二要素認証必須${opsRanges ? `、許可された ${opsRanges}件の IP 範囲からのみ接続可` : '（運用者の IP 許可リストは未設定）'}。テナント管理者: ${tenantsLineJa('admin')}`,
          },
          evidence: { operators: { active: operators.accounts, mfa_required: true, ip_allowlist_ranges: opsRanges }, tenant_admins: perTenant('admin') },
        },
        'SE-21': {
          status: 'met',
          value: { tenants_restricting_users: Math.max(spread.ipAllowlist.member, spread.clientCert.member, spread.mfa.member) },
          summary: { en: `Each tenant restricts its users in its own policy: ${tenantsLine('member')}`, ja: `利用者の制限は各テナントのポリシーで設定。${tenantsLineJa('member')}` },
          evidence: perTenant('member'),
        },
      }
    }
    const { policy, savedAt } = await tenantPolicy({ ...ctx, tenantId: ctx.tenantId })
    const forRole = (role: 'admin' | 'member'): RowEvidence => {
      const ranges = policy.ip_allowlist[role]
      // Counts only, never the ranges: the operators' view of a tenant's report must not expose its networks.
      const inForce = {
        ip_allowlist_ranges: ranges.length,
        client_cert_required: policy.client_cert_required[role],
        mfa_required: policy.mfa_required[role],
      }
      const on = [
        ranges.length ? { en: `IP allowlist (${ranges.length} ranges)`, ja: `IP 許可リスト（${ranges.length}件）` } : null,
        inForce.client_cert_required ? { en: 'client certificate required', ja: 'クライアント証明書必須' } : null,
        inForce.mfa_required ? { en: 'second factor required', ja: '二要素認証必須' } : null,
      ].filter((x) => x !== null)
      const who = role === 'admin' ? { en: 'Admins', ja: '管理者' } : { en: 'Users', ja: '利用者' }
      const mfa = `${stats[role].withMfa} of ${stats[role].accounts} active ${role} accounts have a second factor.`
      const mfaJa = `二要素認証登録済み ${stats[role].withMfa}/${stats[role].accounts}件`
      return {
        status: on.length ? 'met' : 'not_met',
        value: inForce,
        summary: on.length
          ? { en: `${who.en}: ${on.map((x) => x.en).join(', ')}. ${mfa}`, ja: `${who.ja}: ${on.map((x) => x.ja).join('、')}。${mfaJa}` }
          : { en: `${who.en} may connect from anywhere with a password alone. ${mfa}`, ja: `${who.ja}の接続元制限なし（パスワードのみ）。${mfaJa}` },
        evidence: { ...inForce, active_accounts: stats[role].accounts, accounts_with_mfa: stats[role].withMfa, accounts_with_certificate: stats[role].withCertificate, policy_saved_at: savedAt || null },
        ...(on.length
          ? {}
          : {
              note: {
                en: `Available but not switched on: set ip_allowlist.${role}, client_cert_required.${role} or mfa_required.${role} with PUT /api/v1/policy.`,
                ja: `機能はありますが未設定です: PUT /api/v1/policy で ip_allowlist.${role}、client_cert_required.${role}、mfa_required.${role} のいずれかを設定してください`,
              },
            }),
      }
    }
    return { 'SE-16': forRole('admin'), 'SE-21': forRole('member') }
  },
})
