import { ROLE_DEFAULT_PERMISSIONS } from '../../../schemas/permissions'
import { accountStats } from './facts'
import { defineProvider, plural } from './provider'

/**
 * SE-12/17 (one account per person), SE-8 (roles and permissions set by the
 * tenant's admins), SE-18 (least privilege, the ledger): the active accounts
 * as they are now.
 */
export const accounts = defineProvider({
  name: 'accounts',
  ids: ['SE-12/17', 'SE-8', 'SE-18'],
  async collect(ctx) {
    const { admin, member } = await accountStats(ctx)
    const where = ctx.tenantId === null ? { en: 'across all tenants', ja: '全テナント合計' } : { en: 'in this tenant', ja: 'このテナント' }
    const download = admin.withDownload + member.withDownload
    const exporting = admin.withExport + member.withExport
    return {
      'SE-12/17': {
        status: 'met',
        value: { admins: admin.accounts, members: member.accounts },
        summary: {
          en: `Every account is one person's: an e-mail address is unique per tenant and accounts are issued individually by an admin. Active ${where.en}: ${plural(admin.accounts, 'admin')}, ${plural(member.accounts, 'user')}.`,
          ja: `アカウントは個人単位で発行（メールアドレスはテナント内で一意）。${where.ja}の有効なアカウント: 管理者 ${admin.accounts}件、利用者 ${member.accounts}件`,
        },
        evidence: { active_admins: admin.accounts, active_members: member.accounts, uniqueness: 'users_tenant_email unique index (tenant_id, normalised e-mail)' },
      },
      'SE-8': {
        status: 'met',
        value: { roles: ['admin', 'member'], default_permissions: ROLE_DEFAULT_PERMISSIONS },
        summary: {
          en: `Only the tenant's own accounts reach its data, each with its role's permissions as the tenant's admins set them (${plural(admin.accounts, 'admin')}, ${plural(member.accounts, 'user')} ${where.en}); operators need the tenant's time-limited support grant.`,
          ja: `テナントのデータに触れるのはそのテナントのアカウントのみ。権限はテナント管理者がロール・アカウント単位で設定（${where.ja}: 管理者 ${admin.accounts}件、利用者 ${member.accounts}件）。運用者はテナントの期限付き許可が必要`,
        },
        evidence: { active_admins: admin.accounts, active_members: member.accounts, default_permissions: ROLE_DEFAULT_PERMISSIONS },
      },
      'SE-18': {
        status: 'met',
        value: { accounts_with_download: download, accounts_with_export: exporting },
        summary: {
          en: `No role grants download or export: only an explicit grant to one account does. ${plural(download, 'account')} may download files and ${exporting} may export ${where.en}; the account ledger (GET /api/v1/ledger) lists every account, its permissions and what each allows.`,
          ja: `ダウンロード・エクスポート権限はロールでは付与されず、アカウントごとの明示的な付与のみ。${where.ja}: ダウンロード可 ${download}件、エクスポート可 ${exporting}件。アカウント管理台帳（GET /api/v1/ledger）に全アカウントの権限とその内容を記載`,
        },
        evidence: { accounts_with_download: download, accounts_with_export: exporting, ledger: 'GET /api/v1/ledger[?format=csv]', default_permissions: ROLE_DEFAULT_PERMISSIONS },
      },
    }
  },
})
