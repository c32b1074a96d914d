/** @jsxImportSource hono/jsx */
import { Hono } from 'hono'
import { database } from '../../db/client'
import { Problem } from '../../lib/problem'
import { MfaAnswerSchema, PasswordChangeSchema, TenantLoginSchema } from '../../schemas/auth'
import { LEAKED_CREDENTIAL_HEADER, leakedPasswordSignal } from '../../services/abuse/leaked-credential'
import { signOut } from '../../services/identity/sign-out'
import { completeTenantMfa, tenantSignIn } from '../../services/identity/tenant-auth'
import { getPolicy } from '../../services/policy/policy'
import { changePassword } from '../../services/passwords/password-change'
import { MfaPage, PasswordPage, SignInPage } from '../../views/auth-forms'
import type { FlashMessage } from '../../views/components'
import { defer, requestMeta, requestSource } from '../context'
import { clearSessionCookie, setSessionCookie } from './kit/cookies'
import { consoleSession, html, problemFlash, publicForm, text, type ConsoleContext, type ConsoleEnv } from './kit/page'
import type { Translate } from '../../i18n'
import { invalidFormProblem } from './kit/validate'

type SignInResult = Awaited<ReturnType<typeof tenantSignIn>>

/** What a sign-in step answered, as the browser's next page: a session cookie and a redirect, or the code form. */
function afterStep(c: ConsoleContext, result: SignInResult) {
  if (result.status === 'mfa_required') return html(c, <MfaPage page={c.var.page} action="/console/sign-in/mfa" challenge={result.challenge} />)
  setSessionCookie(c, 'tenant', result.token, result.expires_at)
  return c.redirect(result.status === 'password_change_required' ? '/console/password' : '/console', 303)
}

/** A wrong tenant, e-mail or password: one message for all, as the API's one 401. */
function signInFailure(t: Translate, error: unknown): FlashMessage {
  if (error instanceof Problem && error.type === 'invalid-credentials') return { kind: 'error', text: t('signIn.failed') }
  return problemFlash(t, error)
}

export const signInPages = new Hono<ConsoleEnv>({ strict: true })

signInPages.get('/console/sign-in', publicForm('tenant'), (c) => {
  const page = c.var.page
  const done = c.req.query('done') === 'signed-out' ? ({ kind: 'ok', text: page.t('signedOut') } as const) : null
  return html(c, <SignInPage page={page} action="/console/sign-in" withTenant values={{ tenant: c.req.query('tenant') ?? '' }} flash={done} />)
})

signInPages.post('/console/sign-in', publicForm('tenant'), async (c) => {
  const form = c.var.form
  const input = { tenant: text(form, 'tenant'), email: text(form, 'email'), password: text(form, 'password') }
  const values = { tenant: input.tenant, email: input.email }
  try {
    const parsed = TenantLoginSchema.safeParse(input)
    if (!parsed.success) throw invalidFormProblem(parsed.error)
    const signals = { leakedPassword: leakedPasswordSignal(c.req.header(LEAKED_CREDENTIAL_HEADER)) }
    return afterStep(c, await tenantSignIn(c.env, database(c.env), parsed.data, requestSource(c), requestMeta(c), defer(c as never), signals))
  } catch (error) {
    const flash = signInFailure(c.var.page.t, error)
    return html(c, <SignInPage page={c.var.page} action="/console/sign-in" withTenant values={values} flash={flash} />, (error as Problem).status)
  }
})

signInPages.post('/console/sign-in/mfa', publicForm('tenant'), async (c) => {
  const form = c.var.form
  const input = { challenge: text(form, 'challenge'), code: text(form, 'code').trim() }
  try {
    const parsed = MfaAnswerSchema.safeParse(input)
    if (!parsed.success) throw invalidFormProblem(parsed.error)
    return afterStep(c, await completeTenantMfa(c.env, database(c.env), parsed.data, requestSource(c), requestMeta(c), defer(c as never)))
  } catch (error) {
    if (!(error instanceof Problem) || error.status >= 500 || error.status === 429) throw error
    const flash: FlashMessage = { kind: 'error', text: c.var.page.t('mfa.failed') }
    if (error.status === 401) return html(c, <SignInPage page={c.var.page} action="/console/sign-in" withTenant values={{}} flash={flash} />, 401)
    return html(c, <MfaPage page={c.var.page} action="/console/sign-in/mfa" challenge={input.challenge} flash={problemFlash(c.var.page.t, error)} />, error.status)
  }
})

signInPages.post('/console/sign-out', consoleSession('tenant', { allowPasswordChange: true }), async (c) => {
  await signOut(c.env, c.var.principal, requestMeta(c))
  clearSessionCookie(c, 'tenant')
  return c.redirect('/console/sign-in?done=signed-out', 303)
})

async function passwordRules(c: ConsoleContext) {
  const policy = await getPolicy(database(c.env), c.var.principal.tenantId!)
  return c.var.page.t('password.rules', { min: policy.password_min_length, history: policy.password_history })
}

signInPages.get('/console/password', consoleSession('tenant', { allowPasswordChange: true }), async (c) => {
  const done = c.req.query('done') === 'changed' ? ({ kind: 'ok', text: c.var.page.t('password.changed') } as const) : null
  return html(c, <PasswordPage page={c.var.page} action="/console/password" rules={await passwordRules(c)} flash={done} />)
})

signInPages.post('/console/password', consoleSession('tenant', { allowPasswordChange: true }), async (c) => {
  const form = c.var.form
  try {
    const parsed = PasswordChangeSchema.safeParse({ current_password: text(form, 'current_password'), new_password: text(form, 'new_password') })
    if (!parsed.success) throw invalidFormProblem(parsed.error)
    const result = await changePassword(c.env, database(c.env), c.var.principal, parsed.data, requestMeta(c))
    // A password-change-only session ended and was replaced: the cookie takes the new one.
    const replaced = 'token' in result && result.token
    if (replaced) setSessionCookie(c, 'tenant', replaced, result.expires_at)
    return c.redirect(replaced ? '/console?done=password' : '/console/password?done=changed', 303)
  } catch (error) {
    const flash = error instanceof Problem && error.type === 'invalid-credentials' ? { kind: 'error' as const, text: `${c.var.page.t('error.invalid')} ${error.detail}` } : problemFlash(c.var.page.t, error)
    return html(c, <PasswordPage page={c.var.page} action="/console/password" rules={await passwordRules(c)} flash={flash} />, (error as Problem).status)
  }
})
