import { LIMITS } from '../../abuse/limits'
import { currentHashParams } from '../../passwords/passwords'
import { accountStats, monthEvents, operatorStats, policySpread, tenantPolicy } from './facts'
import { defineProvider, plural } from './provider'

/** The failure throttles against credential stuffing (SE-30), as services/abuse/limits.ts enforces them. */
const FAILURE_THROTTLES = {
  account_from_network: { failures_in_a_row: LIMITS.pair.limit, first_wait_seconds: LIMITS.pair.block.firstMs / 1000, longest_wait_seconds: LIMITS.pair.block.maxMs / 1000 },
  account_lock_after_failures_in_a_row: LIMITS.account.limit,
  network_failures_per_day: LIMITS.ip.limit,
  second_factor_lock_after_wrong_codes: LIMITS.mfa.limit,
}

/**
 * SE-1 (password sign-in), SE-41 (password, second factor, client
 * certificate), SE-47 (e-mail one-time codes, TOTP), and SE-30 (failure
 * throttling and lock-out with the thresholds in force, optional or
 * required second factors).
 */
export const authentication = defineProvider({
  name: 'authentication',
  ids: ['SE-1', 'SE-41', 'SE-47', 'SE-30'],
  async collect(ctx) {
    const [{ admin, member }, events] = await Promise.all([accountStats(ctx), monthEvents(ctx)])
    const { logN, r, p } = currentHashParams()
    const scrypt = { algorithm: 'scrypt', N: 2 ** logN, r, p }
    const accounts = admin.accounts + member.accounts
    const current = admin.currentHash + member.currentHash
    const mfa = admin.withMfa + member.withMfa
    const emailOtp = admin.emailOtp + member.emailOtp
    const totp = admin.totp + member.totp
    const certs = admin.withCertificate + member.withCertificate
    const failures = events.count('auth.login', 'failure') + events.count('mfa.code_failed')
    const throttled = events.count('security.throttled')
    const locked = events.count('security.account_locked')
    const required =
      ctx.tenantId === null
        ? await policySpread(ctx).then((s) => ({ en: `${s.mfa.admin} of ${s.tenants} tenants require a second factor for admins, ${s.mfa.member} for users`, ja: `${s.tenants}テナント中 管理者に二要素認証必須 ${s.mfa.admin}、利用者に必須 ${s.mfa.member}`, evidence: { tenants: s.tenants, require_for_admins: s.mfa.admin, require_for_members: s.mfa.member } }))
        : await tenantPolicy({ ...ctx, tenantId: ctx.tenantId }).then(({ policy }) => ({
            en: `a second factor is ${policy.mfa_required.admin ? 'required' : 'optional'} for admins and ${policy.mfa_required.member ? 'required' : 'optional'} for users`,
            ja: `二要素認証は管理者${policy.mfa_required.admin ? '必須' : '任意'}、利用者${policy.mfa_required.member ? '必須' : '任意'}`,
            evidence: { mfa_required: policy.mfa_required },
          }))
    const operators = ctx.tenantId === null ? await operatorStats(ctx) : null
    const hashes = operators
      ? { en: `${current} of ${accounts} tenant accounts and ${operators.currentHash} of ${operators.accounts} operators`, ja: `テナントアカウント ${current}/${accounts}件、運用者 ${operators.currentHash}/${operators.accounts}件` }
      : { en: `${current} of ${accounts} active accounts`, ja: `有効なアカウント ${current}/${accounts}件` }
    return {
      'SE-1': {
        status: 'met',
        value: scrypt,
        summary: {
          en: `Every account signs in with its password, stored only as an scrypt hash (N=2^${logN}, r=${r}, p=${p}); ${hashes.en} already use these parameters, the rest are re-hashed at their next sign-in.`,
          ja: `全アカウントがパスワードでサインイン（scrypt ハッシュのみ保存、N=2^${logN}, r=${r}, p=${p}）。現行パラメータのハッシュ: ${hashes.ja}（残りは次回サインイン時に再ハッシュ）`,
        },
        evidence: { password_hash: scrypt, active_accounts: accounts, hashes_with_current_parameters: current, ...(operators ? { operators } : {}) },
      },
      'SE-41': {
        status: 'met',
        value: ['password', 'email_otp', 'totp', 'recovery_code', 'client_certificate'],
        summary: {
          en: `Password, second factor (e-mail one-time code, TOTP, recovery codes) and client certificate are all available; ${mfa} of ${accounts} active accounts have a second factor and ${certs} have a bound client certificate.`,
          ja: `パスワード認証、二要素認証（メールのワンタイムコード・TOTP・リカバリーコード）、クライアント証明書のすべてに対応。二要素認証登録済み ${mfa}/${accounts}件、クライアント証明書登録済み ${certs}件`,
        },
        evidence: { active_accounts: accounts, accounts_with_mfa: mfa, accounts_with_email_otp: emailOtp, accounts_with_totp: totp, accounts_with_certificate: certs },
      },
      'SE-47': {
        status: 'met',
        value: { email_otp: emailOtp, totp },
        summary: {
          en: `Second factor by a one-time code mailed to the account's address (${plural(emailOtp, 'account')}), or TOTP as the stronger option (${totp}); ${required.en}.`,
          ja: `メールアドレス宛のワンタイムコードによる二要素認証（${emailOtp}件）、より強固な TOTP（${totp}件）に対応。${required.ja}`,
        },
        evidence: { accounts_with_email_otp: emailOtp, accounts_with_totp: totp, ...required.evidence },
      },
      'SE-30': {
        status: 'met',
        value: { throttles: FAILURE_THROTTLES, accounts_with_mfa: mfa },
        summary: {
          en: `Failed sign-ins are throttled per account and network (${LIMITS.pair.limit} in a row, then a wait from ${LIMITS.pair.block.firstMs / 60_000} minute growing to ${LIMITS.pair.block.maxMs / 60_000} minutes), per network (${LIMITS.ip.limit} a day) and lock the account after ${LIMITS.account.limit} in a row (${LIMITS.mfa.limit} wrong second-factor codes); ${required.en}; ${mfa} of ${accounts} active accounts have a second factor. In ${ctx.month.month}: ${plural(failures, 'failed sign-in step')}, a throttle engaged ${plural(throttled, 'time')}, ${plural(locked, 'account lock')}.`,
          ja: `サインイン失敗をアカウント・ネットワーク単位（連続${LIMITS.pair.limit}回で${LIMITS.pair.block.firstMs / 60_000}分から最長${LIMITS.pair.block.maxMs / 60_000}分の待機）、ネットワーク単位（1日${LIMITS.ip.limit}回）で制限し、連続${LIMITS.account.limit}回（二要素コードは${LIMITS.mfa.limit}回）の失敗でアカウントをロック。${required.ja}。登録済み ${mfa}/${accounts}件。${ctx.month.month}: サインイン失敗 ${failures}件、試行制限の発動 ${throttled}件、ロック ${locked}件`,
        },
        evidence: {
          ...required.evidence,
          throttles: FAILURE_THROTTLES,
          accounts_with_mfa: mfa,
          failed_sign_ins: events.count('auth.login', 'failure'),
          failed_codes: events.count('mfa.code_failed'),
          throttles_engaged_this_month: throttled,
          accounts_locked_this_month: locked,
        },
      },
    }
  },
})
