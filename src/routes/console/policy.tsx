/** @jsxImportSource hono/jsx */
import { Hono } from 'hono'
import { database } from '../../db/client'
import { PLATFORM, PolicyUpdateSchema, type Policy } from '../../schemas/policy'
import { getPolicy, updatePolicy } from '../../services/policy/policy'
import { Checkbox, Field, Flash, PostForm, TextArea, type FlashMessage } from '../../views/components'
import { Layout, type PageContext } from '../../views/layout'
import { requestMeta, requestSource } from '../context'
import { consoleSession, html, problemFlash, text, type ConsoleContext, type ConsoleEnv, type Form } from './kit/page'
import { invalidFormProblem } from './kit/validate'

const ROLES = ['admin', 'member'] as const

/** What the form shows: the saved policy, or what was typed when saving failed. */
type Shown = {
  numbers: Record<string, string>
  checks: Record<string, boolean>
  lists: Record<string, string>
}

function shownOf(policy: Policy): Shown {
  return {
    numbers: {
      password_min_length: String(policy.password_min_length),
      'password_max_age_days.admin': String(policy.password_max_age_days.admin),
      'password_max_age_days.member': String(policy.password_max_age_days.member),
      password_history: String(policy.password_history),
      session_idle_minutes: String(policy.session_idle_minutes),
      session_absolute_hours: String(policy.session_absolute_hours),
      sessions_per_account: String(policy.sessions_per_account),
    },
    checks: Object.fromEntries(ROLES.flatMap((r) => [[`mfa_required.${r}`, policy.mfa_required[r]], [`client_cert_required.${r}`, policy.client_cert_required[r]]])),
    lists: Object.fromEntries(ROLES.map((r) => [`ip_allowlist.${r}`, policy.ip_allowlist[r].join('\n')])),
  }
}

const NUMBER_FIELDS = ['password_min_length', 'password_max_age_days.admin', 'password_max_age_days.member', 'password_history', 'session_idle_minutes', 'session_absolute_hours', 'sessions_per_account'] as const
const CHECK_FIELDS = ROLES.flatMap((r) => [`mfa_required.${r}`, `client_cert_required.${r}`])
const LIST_FIELDS = ROLES.map((r) => `ip_allowlist.${r}`)

function shownFromForm(form: Form): Shown {
  return {
    numbers: Object.fromEntries(NUMBER_FIELDS.map((n) => [n, text(form, n).trim()])),
    checks: Object.fromEntries(CHECK_FIELDS.map((n) => [n, text(form, n) === 'true'])),
    lists: Object.fromEntries(LIST_FIELDS.map((n) => [n, text(form, n)])),
  }
}

/** The form as the PUT body: every field, so the saved policy is what the page showed. */
function bodyOf(shown: Shown) {
  const num = (name: string) => (shown.numbers[name] === '' ? Number.NaN : Number(shown.numbers[name]))
  const list = (name: string) => shown.lists[name]!.split(/[\s,]+/).filter(Boolean)
  const byRole = <T,>(of: (role: 'admin' | 'member') => T) => ({ admin: of('admin'), member: of('member') })
  return {
    password_min_length: num('password_min_length'),
    password_max_age_days: byRole((r) => num(`password_max_age_days.${r}`)),
    password_history: num('password_history'),
    mfa_required: byRole((r) => shown.checks[`mfa_required.${r}`]),
    ip_allowlist: byRole((r) => list(`ip_allowlist.${r}`)),
    client_cert_required: byRole((r) => shown.checks[`client_cert_required.${r}`]),
    session_idle_minutes: num('session_idle_minutes'),
    session_absolute_hours: num('session_absolute_hours'),
    sessions_per_account: num('sessions_per_account'),
  }
}

function PolicyForm({ page, shown }: { page: PageContext; shown: Shown }) {
  const { t } = page
  const n = (name: (typeof NUMBER_FIELDS)[number], label: string, hint: string, min: number, max: number) => (
    <Field label={label} name={name} type="number" min={min} max={max} required value={shown.numbers[name]} idPrefix="policy" hint={hint} />
  )
  const range = (min: number, max: number) => t('policy.platformRange', { min, max })
  return (
    <PostForm action="/console/policy" csrf={page.viewer!.csrf} class="stack beside">
      <fieldset>
        <legend>{t('policy.passwords')}</legend>
        <div class="stack">
          {n('password_min_length', t('policy.minLength'), t('policy.platformMin', { value: PLATFORM.passwordMinLength }), PLATFORM.passwordMinLength, 128)}
          {n('password_max_age_days.admin', t('policy.maxAgeAdmin'), t('policy.platformMax', { value: PLATFORM.passwordMaxAgeDays.admin }), 1, PLATFORM.passwordMaxAgeDays.admin)}
          {n('password_max_age_days.member', t('policy.maxAgeMember'), t('policy.platformMax', { value: PLATFORM.passwordMaxAgeDays.member }), 1, PLATFORM.passwordMaxAgeDays.member)}
          {n('password_history', t('policy.history'), range(PLATFORM.passwordHistory.min, PLATFORM.passwordHistory.max), PLATFORM.passwordHistory.min, PLATFORM.passwordHistory.max)}
        </div>
      </fieldset>
      <fieldset>
        <legend>{t('policy.mfa')}</legend>
        <Checkbox label={t('policy.mfaAdmin')} name="mfa_required.admin" value="true" checked={shown.checks['mfa_required.admin']} idPrefix="policy" />
        <Checkbox label={t('policy.mfaMember')} name="mfa_required.member" value="true" checked={shown.checks['mfa_required.member']} idPrefix="policy" />
        <p class="hint">{t('policy.mfaHint')}</p>
      </fieldset>
      <fieldset>
        <legend>{t('policy.sessions')}</legend>
        <div class="stack">
          {n('session_idle_minutes', t('policy.idle'), range(PLATFORM.sessionIdleMinutes.min, PLATFORM.sessionIdleMinutes.max), PLATFORM.sessionIdleMinutes.min, PLATFORM.sessionIdleMinutes.max)}
          {n('session_absolute_hours', t('policy.absolute'), range(PLATFORM.sessionAbsoluteHours.min, PLATFORM.sessionAbsoluteHours.max), PLATFORM.sessionAbsoluteHours.min, PLATFORM.sessionAbsoluteHours.max)}
          {n('sessions_per_account', t('policy.perAccount'), range(PLATFORM.sessionsPerAccount.min, PLATFORM.sessionsPerAccount.max), PLATFORM.sessionsPerAccount.min, PLATFORM.sessionsPerAccount.max)}
        </div>
      </fieldset>
      <fieldset>
        <legend>{t('policy.access')}</legend>
        <div class="stack">
          <TextArea label={t('policy.ipAdmin')} name="ip_allowlist.admin" value={shown.lists['ip_allowlist.admin']} rows={3} idPrefix="policy" mono hint={t('policy.ipHint', { max: PLATFORM.allowlistMax })} />
          <TextArea label={t('policy.ipMember')} name="ip_allowlist.member" value={shown.lists['ip_allowlist.member']} rows={3} idPrefix="policy" mono hint={t('policy.ipHint', { max: PLATFORM.allowlistMax })} />
          <Checkbox label={t('policy.certAdmin')} name="client_cert_required.admin" value="true" checked={shown.checks['client_cert_required.admin']} idPrefix="policy" />
          <Checkbox label={t('policy.certMember')} name="client_cert_required.member" value="true" checked={shown.checks['client_cert_required.member']} idPrefix="policy" />
          <p class="hint">{t('policy.lockoutHint')}</p>
        </div>
      </fieldset>
      <div>
        <button type="submit">{t('policy.save')}</button>
      </div>
    </PostForm>
  )
}

function policyPage(c: ConsoleContext, shown: Shown, flash: FlashMessage | null, status = 200) {
  const page = c.var.page
  return html(
    c,
    <Layout page={page} title={page.t('policy.title')}>
      <Flash flash={flash} />
      <p>{page.t('policy.intro')}</p>
      <PolicyForm page={page} shown={shown} />
    </Layout>,
    status,
  )
}

const admin = consoleSession('tenant', { admin: true })

export const policyPages = new Hono<ConsoleEnv>({ strict: true })

policyPages.get('/console/policy', admin, async (c) => {
  const policy = await getPolicy(database(c.env), c.var.principal.tenantId!)
  const flash = c.req.query('done') === 'saved' ? ({ kind: 'ok', text: c.var.page.t('policy.saved') } as const) : null
  return policyPage(c, shownOf(policy), flash)
})

policyPages.post('/console/policy', admin, async (c) => {
  const shown = shownFromForm(c.var.form)
  try {
    const parsed = PolicyUpdateSchema.safeParse(bodyOf(shown))
    if (!parsed.success) throw invalidFormProblem(parsed.error)
    await updatePolicy(c.env, database(c.env), c.var.principal, parsed.data, requestSource(c), requestMeta(c))
    return c.redirect('/console/policy?done=saved', 303)
  } catch (error) {
    // What was typed stays in the form, next to the reasons it was refused.
    return policyPage(c, shown, problemFlash(c.var.page.t, error), (error as { status: number }).status)
  }
})
