import { dateTime, span } from '../format'
import type { MailCatalogue } from './ja'
import type { IncidentFacts, SecurityAlertKind, SecurityFacts, WindowFacts } from './params'

/**
 * Every mail Mamori sends, in English. Typed as the Japanese catalogue, so
 * a mail missing here (or one too many) fails the type check. Times in JST.
 */

const L = 'en'
const FOOTER = '\n--\nMamori operations. The service status is always at /status.\n'

const ALERTS: Record<SecurityAlertKind, { title: string; happened: string; advice: string }> = {
  new_network_sign_in: {
    title: 'sign-in from a new network',
    happened: 'An account signed in from a network it has never signed in from before.',
    advice: 'If the account holder did not expect this, revoke its sessions and reset its password.',
  },
  source_refusal_burst: {
    title: 'many requests refused by source restrictions',
    happened: 'Many requests were refused because they came from addresses or devices the tenant policy does not allow.',
    advice: 'Check whether the allowlist is out of date, or whether someone is trying credentials or stolen sessions from outside it.',
  },
  download_burst: {
    title: 'burst of downloads and exports',
    happened: 'One account downloaded or exported data more often than usual in a short time.',
    advice: 'If this was not expected, disable the account or remove its download and export permissions.',
  },
  permission_failures: {
    title: 'many permission failures from one session',
    happened: 'One session made many requests its account is not allowed to make.',
    advice: 'This may be a stolen session probing for access: if it was not expected, revoke the session.',
  },
  brute_force: {
    title: 'repeated failed sign-ins',
    happened: 'Many sign-ins to one account failed.',
    advice: 'Someone may be guessing the password. Ask the account holder to use a long, unique password and a second factor.',
  },
  account_locked: {
    title: 'account locked',
    happened: 'An account was locked after too many failed sign-ins.',
    advice: 'Once you know the account holder asked for it, unlock the account (POST /api/v1/users/{id}/unlock) or have them reset the password.',
  },
}

function factLines(f: SecurityFacts) {
  const lines = [`When: ${dateTime(f.at, L)}`]
  if (f.account) lines.push(`Account: ${f.account.email ? `${f.account.email} (${f.account.id})` : f.account.id}`)
  if (f.target) lines.push(`${f.target.type[0]!.toUpperCase()}${f.target.type.slice(1)}: ${f.target.id}`)
  if (f.count) {
    const w = f.count.window
    const within = w ? ` within ${w.minutes} minutes (${span(w.start, w.end, L)})` : ''
    lines.push(`Count: ${f.count.value}${within}${f.count.threshold !== undefined ? `; the alert threshold is ${f.count.threshold}` : ''}`)
  }
  for (const [name, value] of Object.entries(f.details)) lines.push(`${name.replace(/_/g, ' ')}: ${value}`)
  return lines
}

const WINDOW_KIND = { maintenance: 'maintenance', outage: 'planned outage' } as const

function windowDetails(w: WindowFacts) {
  const label = WINDOW_KIND[w.kind]
  return [
    `When: ${span(w.starts_at, w.ends_at, L)}`,
    w.emergency ? `This is emergency ${label}${w.reason ? `: ${w.reason}` : ''}.` : null,
    w.message ? `Message: ${w.message}` : null,
    'During the window the service answers 503 with a maintenance notice; /health and /status keep working.',
  ]
    .filter(Boolean)
    .join('\n')
}

function incidentHead(i: IncidentFacts) {
  return `Incident: ${i.title} (severity ${i.severity}), since ${dateTime(i.opened_at, L)}.`
}

export const en: MailCatalogue = {
  signInCode: ({ code, minutes }) => ({
    subject: `Mamori sign-in code: ${code}`,
    text: `Your Mamori sign-in code is ${code}.\n\nIt is valid for ${minutes} minutes and can be used once. If you did not try to sign in, change your password and tell your administrator.\n`,
  }),

  stepUpCode: ({ code, minutes }) => ({
    subject: `Mamori confirmation code: ${code}`,
    text: `Your Mamori confirmation code is ${code}.\n\nSomeone signed in as you asked to change your second factors. The code is valid for ${minutes} minutes and can be used once. If this was not you, change your password and tell your administrator.\n`,
  }),

  accountCreated: ({ email, role }) => ({
    subject: 'Mamori: an account was created for you',
    text: `An administrator created a Mamori account for you (${email}, role ${role}).\n\nThey will give you a temporary password; you choose your own at your first sign-in.\n`,
  }),

  operatorAccountCreated: ({ email }) => ({
    subject: 'Mamori: an operator account was created for you',
    text: `An operator created a Mamori operator account for you (${email}).\n\nThey will give you a temporary password; your first sign-in also needs a code mailed to this address, and you then choose your own password.\n`,
  }),

  passwordResetByAdmin: ({ tenantName, by, at }) => ({
    subject: 'Mamori: your password was reset',
    text: `Your Mamori password for ${tenantName} was reset by ${by === 'operator' ? 'the service operator' : 'an administrator'} on ${dateTime(at, L)}.\n\nYour old password no longer works and you have been signed out everywhere. Ask the person who reset it for your temporary password; you will choose a new one at your next sign-in.\n\nIf you did not expect this, contact your administrator at once.\n`,
  }),

  passwordResetCode: ({ tenantName, code, minutes }) => ({
    subject: `Mamori password reset code: ${code}`,
    text: `Your Mamori password reset code for ${tenantName} is ${code}.\n\nIt is valid for ${minutes} minutes and can be used once, with POST /api/v1/auth/password-reset/confirm. If you did not ask for it, ignore this mail: your password stays as it is.\n`,
  }),

  passwordChangedByReset: ({ tenantName, at }) => ({
    subject: 'Mamori: your password was changed',
    text: `The password of your Mamori account for ${tenantName} was changed on ${dateTime(at, L)} with a reset code mailed to this address. You have been signed out everywhere.\n\nIf this was not you, tell your administrator at once.\n`,
  }),

  passwordExpiry: ({ daysLeft, expiresAt, maxAgeDays }) => ({
    subject: `Mamori: your password expires in ${daysLeft === 1 ? '1 day' : `${daysLeft} days`}`,
    text: `Your Mamori password expires on ${dateTime(expiresAt, L)} (your organisation's rule: change it every ${maxAgeDays} days).\n\nChange it before then under your account settings; after that date you will be asked to change it when you sign in.\n`,
  }),

  failedSignIns: ({ count, ip }) => ({
    subject: 'Mamori: failed sign-ins to your account',
    text: `There were ${count} failed sign-ins in a row to your Mamori account${ip ? ` from ${ip}` : ''}. Sign-ins from that network are paused for a while; elsewhere you can sign in as usual.\n\nIf this was not you, someone may be guessing your password: choose a new one (POST /api/v1/auth/password-reset sends you a code) and tell your administrator.\n`,
  }),

  accountLocked: ({ count }) => ({
    subject: 'Mamori: your account is locked',
    text: `After ${count} failed sign-ins in a row, your Mamori account is locked. Nobody can sign in to it until you reset the password with a code mailed to this address (POST /api/v1/auth/password-reset) or an administrator unlocks it.\n\nIf the failures were not yours, tell your administrator.\n`,
  }),

  secondStepLocked: ({ count, ip }) => ({
    subject: 'Mamori: your second step is locked',
    text: `Someone entered ${count} wrong second-factor codes in a row for your Mamori account${ip ? ` from ${ip}` : ''}. That needs your password, so it may be known to someone else: sign-in is locked until you reset the password (POST /api/v1/auth/password-reset) or an administrator unlocks it.\n`,
  }),

  securityAlertAdmin: (a) => {
    const w = ALERTS[a.kind]
    const where = a.tenant ? `tenant "${a.tenant.name}" (${a.tenant.slug})` : 'the platform'
    return {
      subject: `[Mamori] Security alert: ${w.title}`,
      text: [
        `Mamori raised a security alert for ${where}: ${w.title}.`,
        '',
        w.happened,
        '',
        ...factLines(a.facts),
        `Request: ${a.requestId}`,
        '',
        w.advice,
        `The audit trail holds the event (category "security", action "${a.action}").`,
        '',
        'You get this mail because you are an administrator of this tenant.',
      ].join('\n'),
    }
  },

  securityAlertUser: (a) => {
    const where = a.tenantName ? ` at ${a.tenantName}` : ''
    const newNetwork = a.kind === 'new_network_sign_in'
    return {
      subject: newNetwork ? '[Mamori] New sign-in to your account' : `[Mamori] Security notice: ${ALERTS[a.kind].title}`,
      text: [
        newNetwork
          ? `Your account ${a.email}${where} was just signed in to from a network it has not used before.`
          : `${ALERTS[a.kind].happened} It is your account, ${a.email}${where}.`,
        '',
        ...factLines(a.facts),
        '',
        ...(newNetwork
          ? ['If this was you, there is nothing to do.', 'If it was not, change your password now and tell your administrator.']
          : ['If this was not you, someone may know or be guessing your password: change it (or ask your administrator to reset it) and tell your administrator.']),
      ].join('\n'),
    }
  },

  usageAlert: (u) => ({
    subject:
      u.level >= 100
        ? `Mamori: ${u.tenantName} has used its monthly request quota (${u.month})`
        : `Mamori: ${u.tenantName} has used ${u.level} % of its monthly request quota (${u.month})`,
    text:
      `Your organisation ${u.tenantName} has made ${u.used} of the ${u.quota} requests its ${u.plan === null ? 'contract' : `${u.plan} plan`} allows in ${u.month} (Japan time).\n\n` +
      (u.level >= 100
        ? 'Further requests are refused (HTTP 429) until the month ends, unless an operator raises the quota.\n'
        : 'Once the quota is used up, further requests are refused (HTTP 429) until the month ends.\n') +
      '\nThe usage so far: GET /api/v1/usage (tenant admins).\n',
  }),

  windowScheduled: (w) => ({
    subject: `Mamori: ${WINDOW_KIND[w.kind]} scheduled for ${dateTime(w.starts_at, L)}`,
    text: `Mamori ${WINDOW_KIND[w.kind]} is scheduled.\n\n${windowDetails(w)}\n${FOOTER}`,
  }),

  windowChanged: (w) => ({
    subject: `Mamori: ${WINDOW_KIND[w.kind]} changed, now ${dateTime(w.starts_at, L)}`,
    text: `The times of a scheduled Mamori ${WINDOW_KIND[w.kind]} changed.\n\n${windowDetails(w)}\n${FOOTER}`,
  }),

  windowCancelled: (w) => ({
    subject: `Mamori: ${WINDOW_KIND[w.kind]} of ${dateTime(w.starts_at, L)} cancelled`,
    text: `The Mamori ${WINDOW_KIND[w.kind]} planned for ${span(w.starts_at, w.ends_at, L)} is cancelled. The service stays available.\n${FOOTER}`,
  }),

  windowReminder7d: (w) => ({
    subject: `Mamori: ${WINDOW_KIND[w.kind]} in 7 days (${dateTime(w.starts_at, L)})`,
    text: `Reminder: Mamori ${WINDOW_KIND[w.kind]} in 7 days.\n\n${windowDetails(w)}\n${FOOTER}`,
  }),

  windowReminder1d: (w) => ({
    subject: `Mamori: ${WINDOW_KIND[w.kind]} tomorrow (${dateTime(w.starts_at, L)})`,
    text: `Reminder: Mamori ${WINDOW_KIND[w.kind]} within a day.\n\n${windowDetails(w)}\n${FOOTER}`,
  }),

  windowStarted: (w) => ({
    subject: `Mamori: ${WINDOW_KIND[w.kind]} has started`,
    text: `Mamori ${WINDOW_KIND[w.kind]} has started and lasts until ${dateTime(w.ends_at, L)}.\n\n${windowDetails(w)}\n${FOOTER}`,
  }),

  windowEnded: (w) => ({
    subject: `Mamori: ${WINDOW_KIND[w.kind]} has ended`,
    text: `Mamori ${WINDOW_KIND[w.kind]} has ended at ${dateTime(w.ends_at, L)}; the service is available again.\n${FOOTER}`,
  }),

  announcement: (a) => ({
    subject: `Mamori: ${a.subject}`,
    text: `${{ end_of_service: 'End of service', upgrade: 'Upgrade', notice: 'Notice' }[a.kind]}, effective ${dateTime(a.effective_at, L)}.\n\n${a.body}\n${FOOTER}`,
  }),

  incidentOpened: (i) => ({
    subject: `Mamori incident: ${i.title}`,
    text: `${incidentHead(i)}\n\n${i.description}\n\nWe are investigating and will write again on every change.\n${FOOTER}`,
  }),

  incidentUpdated: (i) => ({
    subject: `Mamori incident update: ${i.title}`,
    text: `${incidentHead(i)}\n\nUpdate: ${i.message}\n${FOOTER}`,
  }),

  incidentResolved: (i) => ({
    subject: `Mamori incident resolved: ${i.title}`,
    text: `${incidentHead(i)}\nResolved at ${dateTime(i.resolved_at!, L)}.\n\n${i.message}\n${FOOTER}`,
  }),
}
