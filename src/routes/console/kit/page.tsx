/** @jsxImportSource hono/jsx */
import type { Context, ErrorHandler, MiddlewareHandler } from 'hono'
import type { Child } from 'hono/jsx'
import { database } from '../../../db/client'
import { operators } from '../../../db/schema'
import type { AppVariables } from '../../../env'
import type { Permission } from '../../../schemas/permissions'
import { describeError } from '../../../lib/error-log'
import { Problem } from '../../../lib/problem'
import { toProblem } from '../../../lib/render-problem'
import { authenticate } from '../../../middleware/authenticate'
import { requirePermission } from '../../../middleware/require-permission'
import { currentUser } from '../../../services/identity/me'
import { pickLocale, translator, isLocale, type ConsoleKey, type Translate } from '../../../i18n'
import { anonymousLocale, signedInLocale } from './locale'
import type { FlashMessage } from '../../../views/components'
import { Flash } from '../../../views/components'
import { Layout, type PageContext } from '../../../views/layout'
import { MaintenancePage } from '../../../views/maintenance'
import { eq } from 'drizzle-orm'
import { every } from 'hono/combine'
import { clearSessionCookie, sessionToken, type ConsoleArea } from './cookies'
import { assertCsrfToken, assertSameOrigin, csrfToken, CSRF_FIELD } from './csrf'

export type Form = Record<string, string | File | (string | File)[]>

export type ConsoleEnv = { Bindings: Env; Variables: AppVariables & { page: PageContext; form: Form } }
export type ConsoleContext = Context<ConsoleEnv>

const HOME: Record<ConsoleArea, string> = { tenant: '/console', ops: '/ops/console' }

/** The page context of a request nobody is signed in to (yet). */
export function anonymousPage(c: Context, area: PageContext['area']): PageContext {
  const locale = anonymousLocale(c)
  return { t: translator(locale), locale, area, path: c.req.path }
}

/**
 * The session behind a console page: the cookie's token checked exactly as
 * a bearer token is (authenticate), the viewer loaded, and on every POST the
 * Origin / Sec-Fetch-Site check and the session's CSRF token, before any
 * handler runs.
 */
export function consoleSession(area: ConsoleArea, options: { allowPasswordChange?: boolean; admin?: boolean; permission?: Permission } = {}): MiddlewareHandler<ConsoleEnv> {
  const chain: MiddlewareHandler<ConsoleEnv>[] = [
    async (c, next) => {
      // Before the session is even looked at: a cross-site post costs nothing.
      if (c.req.method === 'POST') assertSameOrigin(c)
      await next()
    },
    authenticate({
      audience: area === 'tenant' ? 'tenant' : 'operator',
      allowPasswordChange: options.allowPasswordChange ?? false,
      token: (c) => sessionToken(c, area),
    }) as unknown as MiddlewareHandler<ConsoleEnv>,
    async (c, next) => {
      const principal = c.var.principal
      if (c.req.method === 'POST') {
        const form = (await c.req.parseBody({ all: true })) as Form
        await assertCsrfToken(c.env, principal.sessionId, form[CSRF_FIELD])
        c.set('form', form)
      }
      const db = database(c.env)
      let viewer: { name: string; email: string; admin: boolean; permissions: string[] }
      let setting: string | null
      if (area === 'tenant') {
        const user = await currentUser(db, principal)
        viewer = { name: user.name, email: user.email, admin: principal.role === 'admin', permissions: principal.permissions }
        setting = pickLocale(user.language, user.tenantLanguage)
      } else {
        const row = await db.select({ name: operators.name, email: operators.email, language: operators.language }).from(operators).where(eq(operators.id, principal.actorId)).get()
        if (!row) throw Problem.unauthenticated()
        viewer = { name: row.name, email: row.email, admin: true, permissions: [] }
        setting = row.language
      }
      const locale = signedInLocale(c, isLocale(setting) ? setting : null)
      const page: PageContext = { t: translator(locale), locale, area, path: c.req.path }
      page.viewer = { ...viewer, csrf: await csrfToken(c.env, principal.sessionId), passwordChangeOnly: principal.kind === 'password_change' }
      c.set('page', page)
      c.header('Cache-Control', 'no-store')
      await next()
    },
  ]
  // The same rule, and the same refusal counting, as the API's admin routes.
  if (options.admin || options.permission) {
    chain.push(requirePermission({ role: options.admin ? 'admin' : undefined, permission: options.permission }) as unknown as MiddlewareHandler<ConsoleEnv>)
  }
  return every(...chain)
}

/** A sign-in form's POST: no session yet, so the origin check alone (SameSite cookies cannot ride along anyway). */
export function publicForm(area: PageContext['area']): MiddlewareHandler<ConsoleEnv> {
  return async (c, next) => {
    c.set('page', anonymousPage(c, area))
    c.header('Cache-Control', 'no-store')
    if (c.req.method === 'POST') {
      assertSameOrigin(c)
      c.set('form', (await c.req.parseBody({ all: true })) as Form)
    }
    await next()
  }
}

/** One text field of the submitted form ('' when absent or a file). */
export function text(form: Form, name: string): string {
  const value = form[name]
  const first = Array.isArray(value) ? value[0] : value
  return typeof first === 'string' ? first : ''
}

/** Every value of a repeated field (checkboxes). */
export function texts(form: Form, name: string): string[] {
  const value = form[name]
  const list = Array.isArray(value) ? value : value === undefined ? [] : [value]
  return list.filter((v): v is string => typeof v === 'string')
}

/**
 * A problem a form can show next to itself (validation, conflicts, wrong
 * input): its title and fields as a flash. Anything else is rethrown to the
 * error page.
 */
export function problemFlash(t: Translate, error: unknown): FlashMessage {
  if (!(error instanceof Problem) || error.status >= 500 || error.status === 401 || error.type === 'csrf' || error.type === 'too-many-requests') throw error
  const fields = (error.toJSON('').errors as { path: string; message: string }[] | undefined) ?? []
  return {
    kind: 'error',
    text: `${t('error.invalid')} ${error.detail}`,
    // A field whose message only repeats the detail adds nothing but its name.
    details: fields.filter((f) => f.message !== error.detail || fields.length > 1).map((f) => `${f.path.replace(/^body\./, '')}: ${f.message}`),
  }
}

/**
 * The confirmation a redirect names with `?done=`: one of `notes`, else none.
 * Only an own key counts, so `?done=toString` is no note rather than a 500.
 */
export function doneFlash(c: ConsoleContext, notes: Record<string, ConsoleKey>): FlashMessage | null {
  const done = c.req.query('done')
  return done && Object.hasOwn(notes, done) ? { kind: 'ok', text: c.var.page.t(notes[done]!) } : null
}

export function html(c: Context, node: Child, status = 200) {
  c.header('Cache-Control', 'no-store')
  return c.html(node as never, status as 200)
}

function ErrorPage({ page, title, message, requestId }: { page: PageContext; title: string; message: string; requestId: string }) {
  const home = page.area === 'ops' ? '/ops/console' : page.area === 'tenant' ? '/console' : '/help'
  return (
    <Layout page={page} title={title} narrow>
      <Flash flash={{ kind: 'error', text: message }} />
      <p>{page.t('error.requestId', { id: requestId })}</p>
      <p>
        <a href={home}>{page.t('error.home')}</a>
      </p>
    </Layout>
  )
}

/**
 * The page context of a maintenance answer. A tenant's own flag is found by
 * the session check, which names the viewer: its language is one D1 read
 * away. The global flag refuses before any session is looked at: the
 * remembered language, or Accept-Language.
 */
async function maintenanceViewerPage(c: ConsoleContext, area: ConsoleArea | 'public'): Promise<PageContext> {
  const page = anonymousPage(c, area === 'public' ? 'public' : area)
  const principal = c.var.principal
  if (area !== 'tenant' || principal?.actorType !== 'user') return page
  const user = await currentUser(database(c.env), principal).catch(() => null)
  if (!user) return page
  const locale = signedInLocale(c, pickLocale(user.language, user.tenantLanguage))
  return { ...page, t: translator(locale), locale }
}

/** The operator's own text of a maintenance answer, or null when it carries only the standard sentence. */
function operatorMessage(problem: Problem): string | null {
  const until = typeof problem.extra.until === 'string' ? problem.extra.until : null
  const standard = Problem.maintenance({ message: null, until, retryAfterSeconds: 1 }).detail
  return problem.detail && problem.detail !== standard ? problem.detail : null
}

/**
 * Errors on console pages are pages: a lost session goes back to sign-in, a
 * password-change-only session to the password form, refusals and bad
 * input to a page in the viewer's language, maintenance to the maintenance
 * page (503, Retry-After). Never a JSON document.
 */
export function consoleErrors(area: ConsoleArea | 'public'): ErrorHandler<ConsoleEnv> {
  return async (error, c) => {
    const problem = toProblem(error)
    if (area !== 'public') {
      if (problem.status === 401) {
        clearSessionCookie(c, area)
        return c.redirect(`${HOME[area]}/sign-in`, 303)
      }
      if (problem.type === 'password-change-required') return c.redirect(`${HOME[area]}/password`, 303)
    }
    // Maintenance is no failure of ours: not logged as one.
    if (problem.type === 'maintenance') {
      for (const [name, value] of Object.entries(problem.headers)) c.header(name, value)
      const until = typeof problem.extra.until === 'string' ? problem.extra.until : null
      // Nobody is signed in to a maintenance page: no menu, no sign-out form.
      const bare: PageContext = { ...(c.var.page ?? (await maintenanceViewerPage(c, area))), viewer: undefined }
      return html(c, <MaintenancePage page={bare} message={operatorMessage(problem)} until={until} requestId={c.var.requestId} />, 503)
    }
    if (problem.status >= 500) {
      console.error(JSON.stringify({ level: 'error', msg: 'unhandled error', request_id: c.var.requestId, ...(await describeError(error)) }))
    }
    const page = c.var.page ?? anonymousPage(c, area === 'public' ? 'public' : area)
    const t = page.t
    const message =
      problem.type === 'csrf' ? t('error.csrf')
      : problem.status === 403 ? t('error.forbidden')
      : problem.status === 404 ? t('error.notFound')
      : problem.status === 429 ? t('error.throttled')
      : problem.status >= 500 ? t('error.server')
      : `${t('error.invalid')} ${problem.detail}`
    for (const [name, value] of Object.entries(problem.headers)) c.header(name, value)
    return html(c, <ErrorPage page={page} title={t('error.title')} message={message} requestId={c.var.requestId} />, problem.status)
  }
}
