import { dateTime, month, span } from '../format'
import type {
  AnnouncementFacts,
  CodeMail,
  IncidentFacts,
  MailText,
  SecurityAlertKind,
  SecurityFacts,
  WindowFacts,
} from './params'

/**
 * Every mail Mamori sends, in Japanese: the reference catalogue. The English
 * one (en.ts) has this one's type, so a mail missing there fails the type
 * check. Business Japanese (敬語), times in JST.
 */

const L = 'ja'
const PREFIX = '【Mamori】'
const FOOTER = '\n--\nMamori 運用チーム\nサービスの稼働状況は /status でいつでもご確認いただけます。\n'
const UNEXPECTED = 'お心当たりのない場合は、速やかにパスワードを変更し、管理者へご連絡ください。'

function codeValidity(minutes: number) {
  return `このコードの有効期限は ${minutes} 分間で、1 回のみご利用いただけます。`
}

const ALERTS: Record<SecurityAlertKind, { title: string; happened: string; advice: string }> = {
  new_network_sign_in: {
    title: '新しいネットワークからのサインイン',
    happened: 'アカウントが、これまでに使用されたことのないネットワークからサインインしました。',
    advice: 'アカウントの利用者にお心当たりがない場合は、セッションを失効させ、パスワードをリセットしてください。',
  },
  source_refusal_burst: {
    title: 'アクセス制限によるリクエスト拒否の多発',
    happened: 'テナントのポリシーで許可されていないアドレスまたは端末からのリクエストが、多数拒否されました。',
    advice: '許可リストが最新かどうか、また許可範囲の外から認証情報や盗まれたセッションが試されていないかをご確認ください。',
  },
  download_burst: {
    title: 'ダウンロード・エクスポートの急増',
    happened: '1 つのアカウントが、短時間に通常より多くのダウンロードまたはエクスポートを行いました。',
    advice: '想定外の場合は、アカウントを無効にするか、ダウンロード・エクスポートの権限を外してください。',
  },
  permission_failures: {
    title: '1 つのセッションからの権限エラーの多発',
    happened: '1 つのセッションから、そのアカウントに許可されていないリクエストが多数ありました。',
    advice: '盗まれたセッションによる探索の可能性があります。想定外の場合は、そのセッションを失効させてください。',
  },
  brute_force: {
    title: 'サインイン失敗の連続',
    happened: '1 つのアカウントへのサインインが繰り返し失敗しました。',
    advice: 'パスワードが推測されている可能性があります。アカウントの利用者に、長く使い回しのないパスワードと 2 段階認証のご利用をお勧めください。',
  },
  account_locked: {
    title: 'アカウントのロック',
    happened: 'サインインの失敗が続いたため、アカウントがロックされました。',
    advice: 'ご本人からの依頼であることを確認のうえ、ロックを解除する（POST /api/v1/users/{id}/unlock）か、ご本人にパスワードを再設定していただいてください。',
  },
}

function factLines(f: SecurityFacts) {
  const lines = [`日時: ${dateTime(f.at, L)}`]
  if (f.account) lines.push(`アカウント: ${f.account.email ? `${f.account.email}（${f.account.id}）` : f.account.id}`)
  if (f.target) lines.push(`対象: ${f.target.type} ${f.target.id}`)
  if (f.count) {
    const w = f.count.window
    const within = w ? `（${w.minutes} 分間: ${span(w.start, w.end, L)}）` : ''
    lines.push(`件数: ${f.count.value} 件${within}${f.count.threshold !== undefined ? `。アラートのしきい値は ${f.count.threshold} 件です` : ''}`)
  }
  for (const [name, value] of Object.entries(f.details)) lines.push(`${name.replace(/_/g, ' ')}: ${value}`)
  return lines
}

const WINDOW_KIND = { maintenance: 'メンテナンス', outage: '計画停止' } as const

function windowDetails(w: WindowFacts) {
  const label = WINDOW_KIND[w.kind]
  return [
    `日時: ${span(w.starts_at, w.ends_at, L)}`,
    w.emergency ? `本件は緊急の${label}です${w.reason ? `（理由: ${w.reason}）` : ''}。` : null,
    w.message ? `運用担当からのご連絡: ${w.message}` : null,
    '作業中、サービスはメンテナンス中である旨をお知らせし、HTTP 503 を返します。/health と /status は引き続きご利用いただけます。',
  ]
    .filter(Boolean)
    .join('\n')
}

const SEVERITY: Record<string, string> = { minor: '軽微', major: '重大', critical: '緊急' }

function incidentHead(i: IncidentFacts) {
  return `障害: ${i.title}（重大度: ${SEVERITY[i.severity] ?? i.severity}）\n発生日時: ${dateTime(i.opened_at, L)}`
}

export const ja = {
  signInCode: ({ code, minutes }: CodeMail): MailText => ({
    subject: `${PREFIX}サインイン確認コード: ${code}`,
    text: `Mamori へのサインインに必要な確認コードをお送りします。\n\nサインイン確認コード: ${code}\n\n${codeValidity(minutes)}\n${UNEXPECTED}\n`,
  }),

  stepUpCode: ({ code, minutes }: CodeMail): MailText => ({
    subject: `${PREFIX}確認コード: ${code}`,
    text: `お使いのアカウントで、2 段階認証の設定変更が求められました。変更を確定するには、次の確認コードをご入力ください。\n\n確認コード: ${code}\n\n${codeValidity(minutes)}\n${UNEXPECTED}\n`,
  }),

  accountCreated: ({ email, role }: { email: string; role: 'admin' | 'member' }): MailText => ({
    subject: `${PREFIX}アカウント作成のお知らせ`,
    text: `管理者により、Mamori のアカウントが作成されました。\n\nメールアドレス: ${email}\nロール: ${role === 'admin' ? '管理者' : 'メンバー'}\n\n仮パスワードは管理者からお知らせします。初回サインイン時に、ご自身でパスワードを設定してください。\n`,
  }),

  operatorAccountCreated: ({ email }: { email: string }): MailText => ({
    subject: `${PREFIX}運用者アカウント作成のお知らせ`,
    text: `Mamori の運用者アカウントが作成されました（${email}）。\n\n仮パスワードは、アカウントを作成した運用者からお知らせします。初回サインイン時には、このアドレスにお送りする確認コードのご入力も必要です。その後、ご自身でパスワードを設定してください。\n`,
  }),

  passwordResetByAdmin: ({ tenantName, by, at }: { tenantName: string; by: 'operator' | 'admin'; at: string }): MailText => ({
    subject: `${PREFIX}パスワードがリセットされました`,
    text: `${tenantName} の Mamori アカウントのパスワードが、${dateTime(at, L)} に${by === 'operator' ? 'サービス運用者' : '管理者'}によりリセットされました。\n\nこれまでのパスワードは使用できなくなり、すべての端末からサインアウトされています。仮パスワードは、リセットを行った担当者にお問い合わせください。次回サインイン時に、新しいパスワードを設定していただきます。\n\nお心当たりのない場合は、至急管理者へご連絡ください。\n`,
  }),

  passwordResetCode: ({ tenantName, code, minutes }: CodeMail & { tenantName: string }): MailText => ({
    subject: `${PREFIX}パスワード再設定コード: ${code}`,
    text: `${tenantName} の Mamori アカウントについて、パスワード再設定のご依頼を承りました。\n\nパスワード再設定コード: ${code}\n\n${codeValidity(minutes)}（POST /api/v1/auth/password-reset/confirm）\nお心当たりのない場合は、このメールを破棄してください。パスワードは変更されません。\n`,
  }),

  passwordChangedByReset: ({ tenantName, at }: { tenantName: string; at: string }): MailText => ({
    subject: `${PREFIX}パスワード変更のお知らせ`,
    text: `${tenantName} の Mamori アカウントのパスワードが、${dateTime(at, L)} に、このアドレスへお送りした再設定コードにより変更されました。すべての端末からサインアウトされています。\n\nお心当たりのない場合は、至急管理者へご連絡ください。\n`,
  }),

  passwordExpiry: ({ daysLeft, expiresAt, maxAgeDays }: { daysLeft: number; expiresAt: string; maxAgeDays: number }): MailText => ({
    subject: `${PREFIX}パスワードの有効期限まであと ${daysLeft} 日です`,
    text: `Mamori のパスワードの有効期限は ${dateTime(expiresAt, L)} です（貴社の規程により、${maxAgeDays} 日ごとの変更が必要です）。\n\n期限までに、アカウント設定からパスワードを変更してください。期限を過ぎますと、次回サインイン時に変更をお願いすることになります。\n`,
  }),

  failedSignIns: ({ count, ip }: { count: number; ip: string | null }): MailText => ({
    subject: `${PREFIX}サインインの失敗が続いています`,
    text: `お使いの Mamori アカウントへのサインインが、${ip ? `${ip} から` : ''}${count} 回続けて失敗しました。このネットワークからのサインインを一時的に停止しております。その他の場所からは、通常どおりサインインいただけます。\n\nお心当たりのない場合は、第三者がパスワードを推測しようとしている可能性があります。パスワードを変更し（POST /api/v1/auth/password-reset で再設定コードをお送りします）、管理者へご連絡ください。\n`,
  }),

  accountLocked: ({ count }: { count: number }): MailText => ({
    subject: `${PREFIX}アカウントがロックされました`,
    text: `サインインが ${count} 回続けて失敗したため、お使いの Mamori アカウントをロックいたしました。このアドレスにお送りするコードでパスワードを再設定いただく（POST /api/v1/auth/password-reset）か、管理者がロックを解除するまで、どなたもサインインできません。\n\nお心当たりのない場合は、管理者へご連絡ください。\n`,
  }),

  secondStepLocked: ({ count, ip }: { count: number; ip: string | null }): MailText => ({
    subject: `${PREFIX}2 段階認証がロックされました`,
    text: `お使いの Mamori アカウントで、${ip ? `${ip} から` : ''}2 段階認証のコードが ${count} 回続けて誤って入力されました。この操作にはパスワードが必要なため、パスワードが第三者に知られている可能性があります。パスワードを再設定いただく（POST /api/v1/auth/password-reset）か、管理者がロックを解除するまで、サインインはロックされます。\n`,
  }),

  securityAlertAdmin: (a: { kind: SecurityAlertKind; tenant: { name: string; slug: string } | null; facts: SecurityFacts; requestId: string; action: string }): MailText => {
    const w = ALERTS[a.kind]
    const where = a.tenant ? `テナント「${a.tenant.name}」（${a.tenant.slug}）` : 'プラットフォーム'
    return {
      subject: `${PREFIX}セキュリティアラート: ${w.title}`,
      text: [
        `${where}で、セキュリティアラートが発生しました: ${w.title}`,
        '',
        w.happened,
        '',
        ...factLines(a.facts),
        `リクエスト ID: ${a.requestId}`,
        '',
        w.advice,
        `監査ログにこのイベントが記録されています（カテゴリ「security」、アクション「${a.action}」）。`,
        '',
        'このメールは、テナントの管理者の皆様にお送りしています。',
      ].join('\n'),
    }
  },

  securityAlertUser: (a: { kind: SecurityAlertKind; email: string; tenantName: string | null; facts: SecurityFacts }): MailText => {
    const account = `${a.tenantName ? `${a.tenantName} の` : ''}お使いのアカウント（${a.email}）`
    const newNetwork = a.kind === 'new_network_sign_in'
    return {
      subject: newNetwork ? `${PREFIX}新しいサインインのお知らせ` : `${PREFIX}セキュリティのお知らせ: ${ALERTS[a.kind].title}`,
      text: [
        newNetwork ? `${account}に、これまで使用されたことのないネットワークからサインインがありました。` : `${ALERTS[a.kind].happened}対象は${account}です。`,
        '',
        ...factLines(a.facts),
        '',
        ...(newNetwork
          ? ['ご自身によるサインインであれば、対応は不要です。', 'お心当たりのない場合は、ただちにパスワードを変更し、管理者へご連絡ください。']
          : ['お心当たりのない場合は、パスワードが知られているか推測されている可能性があります。パスワードを変更する（または管理者にリセットを依頼する）とともに、管理者へご連絡ください。']),
      ].join('\n'),
    }
  },

  usageAlert: (u: { tenantName: string; level: number; used: number; quota: number; month: string; plan: string | null }): MailText => {
    const m = month(u.month, L)
    const full = u.level >= 100
    return {
      subject: full
        ? `${PREFIX}${u.tenantName} の今月のリクエスト数が上限に達しました（${m}）`
        : `${PREFIX}${u.tenantName} の今月のリクエスト数が上限の ${u.level}% に達しました（${m}）`,
      text:
        `${u.tenantName} の ${m}（日本時間）のリクエスト数は ${u.used} 件となり、${u.plan === null ? 'ご契約' : `${u.plan} プラン`}の上限 ${u.quota} 件の${full ? '上限に達しました' : ` ${u.level}% に達しました`}。\n\n` +
        (full
          ? '月末までの間、以降のリクエストはお受けできません（HTTP 429）。上限の引き上げをご希望の場合は、運用担当までご相談ください。\n'
          : '上限に達しますと、月末までの間、以降のリクエストはお受けできなくなります（HTTP 429）。\n') +
        '\nこれまでの利用状況は GET /api/v1/usage（テナント管理者）でご確認いただけます。\n',
    }
  },

  windowScheduled: (w: WindowFacts): MailText => ({
    subject: `${PREFIX}${WINDOW_KIND[w.kind]}のお知らせ（${dateTime(w.starts_at, L)}）`,
    text: `Mamori の${WINDOW_KIND[w.kind]}を下記のとおり予定しております。ご不便をおかけいたしますが、ご理解とご協力のほどよろしくお願い申し上げます。\n\n${windowDetails(w)}\n${FOOTER}`,
  }),

  windowChanged: (w: WindowFacts): MailText => ({
    subject: `${PREFIX}${WINDOW_KIND[w.kind]}日時変更のお知らせ（変更後: ${dateTime(w.starts_at, L)}）`,
    text: `先にお知らせした Mamori の${WINDOW_KIND[w.kind]}について、日時を変更いたしました。変更後の日時は下記のとおりです。\n\n${windowDetails(w)}\n${FOOTER}`,
  }),

  windowCancelled: (w: WindowFacts): MailText => ({
    subject: `${PREFIX}${WINDOW_KIND[w.kind]}中止のお知らせ（${dateTime(w.starts_at, L)}）`,
    text: `${span(w.starts_at, w.ends_at, L)} に予定しておりました Mamori の${WINDOW_KIND[w.kind]}は、中止となりました。サービスは引き続き通常どおりご利用いただけます。\n${FOOTER}`,
  }),

  windowReminder7d: (w: WindowFacts): MailText => ({
    subject: `${PREFIX}${WINDOW_KIND[w.kind]}まであと 7 日です（${dateTime(w.starts_at, L)}）`,
    text: `Mamori の${WINDOW_KIND[w.kind]}まで 7 日となりましたので、あらためてお知らせいたします。\n\n${windowDetails(w)}\n${FOOTER}`,
  }),

  windowReminder1d: (w: WindowFacts): MailText => ({
    subject: `${PREFIX}${WINDOW_KIND[w.kind]}の前日のお知らせ（${dateTime(w.starts_at, L)}）`,
    text: `Mamori の${WINDOW_KIND[w.kind]}が 1 日以内に迫りましたので、あらためてお知らせいたします。\n\n${windowDetails(w)}\n${FOOTER}`,
  }),

  windowStarted: (w: WindowFacts): MailText => ({
    subject: `${PREFIX}${WINDOW_KIND[w.kind]}を開始しました`,
    text: `Mamori の${WINDOW_KIND[w.kind]}を開始いたしました。終了は ${dateTime(w.ends_at, L)} を予定しております。\n\n${windowDetails(w)}\n${FOOTER}`,
  }),

  windowEnded: (w: WindowFacts): MailText => ({
    subject: `${PREFIX}${WINDOW_KIND[w.kind]}が終了しました`,
    text: `Mamori の${WINDOW_KIND[w.kind]}は ${dateTime(w.ends_at, L)} に終了いたしました。サービスは通常どおりご利用いただけます。ご協力いただき、誠にありがとうございました。\n${FOOTER}`,
  }),

  announcement: (a: AnnouncementFacts): MailText => ({
    subject: `${PREFIX}${a.subject}`,
    text: `${{ end_of_service: 'サービス終了のお知らせ', upgrade: 'バージョンアップのお知らせ', notice: 'お知らせ' }[a.kind]}（適用日時: ${dateTime(a.effective_at, L)}）\n\n${a.body}\n${FOOTER}`,
  }),

  incidentOpened: (i: IncidentFacts): MailText => ({
    subject: `${PREFIX}障害発生のお知らせ: ${i.title}`,
    text: `Mamori で障害が発生しております。ご迷惑をおかけしており、誠に申し訳ございません。\n\n${incidentHead(i)}\n\n${i.description}\n\n現在、原因を調査しております。状況に変化があり次第、あらためてご連絡いたします。\n${FOOTER}`,
  }),

  incidentUpdated: (i: IncidentFacts & { message: string }): MailText => ({
    subject: `${PREFIX}障害の続報: ${i.title}`,
    text: `先にお知らせした障害について、続報をお送りします。\n\n${incidentHead(i)}\n\n続報: ${i.message}\n${FOOTER}`,
  }),

  incidentResolved: (i: IncidentFacts & { message: string }): MailText => ({
    subject: `${PREFIX}障害復旧のお知らせ: ${i.title}`,
    text: `先にお知らせした障害は復旧いたしました。ご迷惑をおかけし、誠に申し訳ございませんでした。\n\n${incidentHead(i)}\n復旧日時: ${dateTime(i.resolved_at!, L)}\n\n${i.message}\n${FOOTER}`,
  }),
}

/** The shape every language's mail catalogue has: the Japanese one's. */
export type MailCatalogue = typeof ja
