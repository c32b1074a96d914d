/** @jsxImportSource hono/jsx */
import { Hono } from 'hono'
import { database } from '../../../db/client'
import { Problem } from '../../../lib/problem'
import { MfaAnswerSchema, OperatorLoginSchema, PasswordChangeSchema } from '../../../schemas/auth'
import { PLATFORM } from '../../../schemas/policy'
import { LEAKED_CREDENTIAL_HEADER, leakedPasswordSignal } from '../../../services/abuse/leaked-credential'
import { completeOperatorMfa, operatorSignIn } from '../../../services/identity/operators'
import { changeOperatorPassword } from '../../../services/identity/operator-self'
import { signOut } from '../../../services/identity/sign-out'
import { MfaPage, PasswordPage, SignInPage } from '../../../views/auth-forms'
import type { FlashMessage } from '../../../views/components'
import { defer, requestMeta, requestSource } from '../../context'
import { clearSessionCookie, setSessionCookie } from '../kit/cookies'
import { consoleSession, html, problemFlash, publicForm, text, type ConsoleContext, type ConsoleEnv } from '../kit/page'
import { invalidFormProblem } from '../kit/validate'

const ACTION = '/ops/console/sign-in'

/** Operators always answer a second factor: the first step only ever leads to the code form. */
function afterMfa(c: ConsoleContext, result: Awaited<ReturnType<typeof completeOperatorMfa>>) {
  setSessionCookie(c, 'ops', result.token, result.expires_at)
  return c.redirect(result.status === 'password_change_required' ? '/ops/console/password' : '/ops/console', 303)
}

export const opsSignInPages = new Hono<ConsoleEnv>({ strict: true })

opsSignInPages.get(ACTION, publicForm('ops'), (c) => {
  const page = c.var.page
  const done = c.req.query('done') === 'signed-out' ? ({ kind: 'ok', text: page.t('signedOut') } as const) : null
  return html(c, <SignInPage page={page} action={ACTION} withTenant={false} values={{}} flash={done} />)
})

opsSignInPages.post(ACTION, publicForm('ops'), async (c) => {
  const form = c.var.form
  const input = { email: text(form, 'email'), password: text(form, 'password') }
  try {
    const parsed = OperatorLoginSchema.safeParse(input)
    if (!parsed.success) throw invalidFormProblem(parsed.error)
    const signals = { leakedPassword: leakedPasswordSignal(c.req.header(LEAKED_CREDENTIAL_HEADER)) }
    const result = await operatorSignIn(c.env, database(c.env), parsed.data, requestSource(c), requestMeta(c), defer(c as never), signals)
    return html(c, <MfaPage page={c.var.page} action={`${ACTION}/mfa`} challenge={result.challenge} />)
  } catch (error) {
    // One message for a wrong e-mail or password, as the API's one 401.
    const flash: FlashMessage = error instanceof Problem && error.type === 'invalid-credentials' ? { kind: 'error', text: c.var.page.t('signIn.failedOps') } : problemFlash(c.var.page.t, error)
    return html(c, <SignInPage page={c.var.page} action={ACTION} withTenant={false} values={{ email: input.email }} flash={flash} />, (error as Problem).status)
  }
})

opsSignInPages.post(`${ACTION}/mfa`, publicForm('ops'), async (c) => {
  const form = c.var.form
  const input = { challenge: text(form, 'challenge'), code: text(form, 'code').trim() }
  try {
    const parsed = MfaAnswerSchema.safeParse(input)
    if (!parsed.success) throw invalidFormProblem(parsed.error)
    return afterMfa(c, await completeOperatorMfa(c.env, database(c.env), parsed.data, requestSource(c), requestMeta(c), defer(c as never)))
  } catch (error) {
    if (!(error instanceof Problem) || error.status >= 500 || error.status === 429 || error.type === 'source-not-allowed') throw error
    const flash: FlashMessage = { kind: 'error', text: c.var.page.t('mfa.failed') }
    if (error.status === 401) return html(c, <SignInPage page={c.var.page} action={ACTION} withTenant={false} values={{}} flash={flash} />, 401)
    return html(c, <MfaPage page={c.var.page} action={`${ACTION}/mfa`} challenge={input.challenge} flash={problemFlash(c.var.page.t, error)} />, error.status)
  }
})

opsSignInPages.post('/ops/console/sign-out', consoleSession('ops', { allowPasswordChange: true }), async (c) => {
  await signOut(c.env, c.var.principal, requestMeta(c))
  clearSessionCookie(c, 'ops')
  return c.redirect(`${ACTION}?done=signed-out`, 303)
})

function rules(c: ConsoleContext) {
  return c.var.page.t('password.rules', { min: PLATFORM.passwordMinLength, history: PLATFORM.passwordHistory.min })
}

const passwordSession = consoleSession('ops', { allowPasswordChange: true })

opsSignInPages.get('/ops/console/password', passwordSession, (c) => html(c, <PasswordPage page={c.var.page} action="/ops/console/password" rules={rules(c)} />))

opsSignInPages.post('/ops/console/password', passwordSession, async (c) => {
  const form = c.var.form
  try {
    const parsed = PasswordChangeSchema.safeParse({ current_password: text(form, 'current_password'), new_password: text(form, 'new_password') })
    if (!parsed.success) throw invalidFormProblem(parsed.error)
    // Every session of the operator ends, this one too: the cookie takes the new one.
    const result = await changeOperatorPassword(c.env, database(c.env), c.var.principal, parsed.data, requestMeta(c))
    setSessionCookie(c, 'ops', result.token, result.expires_at)
    return c.redirect('/ops/console?done=password', 303)
  } catch (error) {
    const flash = error instanceof Problem && error.type === 'invalid-credentials' ? { kind: 'error' as const, text: `${c.var.page.t('error.invalid')} ${error.detail}` } : problemFlash(c.var.page.t, error)
    return html(c, <PasswordPage page={c.var.page} action="/ops/console/password" rules={rules(c)} flash={flash} />, (error as Problem).status)
  }
})
