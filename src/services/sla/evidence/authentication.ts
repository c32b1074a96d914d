import { currentHashParams } from '../../passwords/passwords'
import { accountStats, monthEvents, operatorStats, policySpread, tenantPolicy } from './facts'
import { defineProvider, plural } from './provider'

/**
 * SE-1 (password sign-in), SE-41 (password, second factor, client
 * certificate), SE-47 (e-mail one-time codes, TOTP), and the part of SE-30
 * this build can show (optional or required second factors; the failure
 * throttling it also needs is not in this build).
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
        status: 'not_yet_measured',
        value: { accounts_with_mfa: mfa, failed_sign_in_steps_this_month: failures },
        summary: {
          en: `Two-step sign-in: ${required.en}; ${mfa} of ${accounts} active accounts have a second factor. ${plural(failures, 'failed sign-in step')} in ${ctx.month.month}.`,
          ja: `二段階認証: ${required.ja}。登録済み ${mfa}/${accounts}件。${ctx.month.month} のサインイン失敗 ${failures}件`,
        },
        evidence: { ...required.evidence, accounts_with_mfa: mfa, failed_sign_ins: events.count('auth.login', 'failure'), failed_codes: events.count('mfa.code_failed') },
        note: {
          en: 'Per-account and per-IP failure throttling and lock-out are not part of this build, so their thresholds cannot be shown yet.',
          ja: 'アカウント単位・IP単位の失敗回数制限とロックアウトはこのバージョンに未搭載のため、しきい値は未計測',
        },
      },
    }
  },
})
