/** @jsxImportSource hono/jsx */
import { Hono } from 'hono'
import { database } from '../../db/client'
import { PERMISSIONS, type Permission } from '../../schemas/permissions'
import { UserCreateSchema, UserPatchSchema } from '../../schemas/users'
import { createAccount, getAccount, listAccounts, unlockAccount, updateAccount } from '../../services/accounts/accounts'
import { forceReset } from '../../services/passwords/password-reset'
import { Checkbox, Field, Flash, Pager, PostForm, Select, Table, TemporaryPassword, Time, type FlashMessage } from '../../views/components'
import { Layout, type PageContext } from '../../views/layout'
import { actorOf, defer, requestMeta } from '../context'
import { consoleSession, html, problemFlash, text, texts, type ConsoleContext, type ConsoleEnv } from './kit/page'
import { invalidFormProblem } from './kit/validate'

type User = Awaited<ReturnType<typeof getAccount>>

const PERMISSION_NAMES = Object.keys(PERMISSIONS) as Permission[]
const PAGE_SIZE = 50

function roleOptions(page: PageContext) {
  return [
    { value: 'member', label: page.t('users.role.member') },
    { value: 'admin', label: page.t('users.role.admin') },
  ]
}

function PermissionBoxes({ page, checked, idPrefix }: { page: PageContext; checked: Permission[]; idPrefix: string }) {
  return (
    <fieldset>
      <legend>{page.t('users.permissions')}</legend>
      {PERMISSION_NAMES.map((p) => (
        <Checkbox label={`${p} – ${PERMISSIONS[p]}`} name="permissions" value={p} checked={checked.includes(p)} idPrefix={idPrefix} />
      ))}
    </fieldset>
  )
}

function CreateForm({ page, values }: { page: PageContext; values?: { email?: string; name?: string; role?: string; permissions?: Permission[] } }) {
  const { t } = page
  return (
    <section aria-labelledby="create">
      <h2 id="create">{t('users.create')}</h2>
      <PostForm action="/console/users" csrf={page.viewer!.csrf} class="stack">
        <Field label={t('users.email')} name="email" type="email" required value={values?.email} idPrefix="new" autocomplete="off" />
        <Field label={t('users.name')} name="name" required value={values?.name} idPrefix="new" autocomplete="off" />
        <Select label={t('users.role')} name="role" options={roleOptions(page)} value={values?.role ?? 'member'} idPrefix="new" />
        <PermissionBoxes page={page} checked={values?.permissions ?? []} idPrefix="new" />
        <p class="hint">{t('users.defaultsHint')}</p>
        <div>
          <button type="submit">{t('users.create')}</button>
        </div>
      </PostForm>
    </section>
  )
}

async function listPage(c: ConsoleContext, extra: { flash?: FlashMessage | FlashMessage[] | null; secret?: string; values?: Parameters<typeof CreateForm>[0]['values'] } = {}, status = 200) {
  const page = c.var.page
  const { t } = page
  const cursor = c.req.query('cursor')
  const list = await listAccounts(database(c.env), c.var.principal.tenantId!, PAGE_SIZE, cursor)
  return html(
    c,
    <Layout page={page} title={t('users.title')}>
      <Flash flash={extra.flash} />
      <TemporaryPassword t={t} secret={extra.secret} />
      <Table<User>
        caption={t('users.title')}
        empty={t('common.none')}
        rows={list.items}
        columns={[
          { label: t('users.name'), cell: (u) => <a href={`/console/users/${u.id}`}>{u.name}</a> },
          { label: t('users.email'), cell: (u) => u.email },
          { label: t('users.role'), cell: (u) => t(`users.role.${u.role}`), nowrap: true },
          { label: t('users.status'), cell: (u) => t(`users.status.${u.status}`), nowrap: true },
          { label: t('users.permissions'), cell: (u) => <span class="mono">{u.permissions.join(', ')}</span> },
          { label: t('users.lastLogin'), cell: (u) => (u.last_login_at ? <Time iso={u.last_login_at} /> : t('users.never')) },
        ]}
      />
      <Pager t={t} base="/console/users" params={new URLSearchParams(cursor ? { cursor } : {})} next={list.next_cursor} hasCursor={!!cursor} />
      <CreateForm page={page} values={extra.values} />
    </Layout>,
    status,
  )
}

function DetailPage({ page, user, flash, secret }: { page: PageContext; user: User; flash?: FlashMessage | null; secret?: string }) {
  const { t } = page
  const csrf = page.viewer!.csrf
  const base = `/console/users/${user.id}`
  return (
    <Layout page={page} title={`${t('users.detail')}: ${user.name}`}>
      <Flash flash={flash} />
      <TemporaryPassword t={t} secret={secret} />
      <dl class="facts">
        <dt>{t('users.id')}</dt>
        <dd class="mono" data-testid="user-id">{user.id}</dd>
        <dt>{t('users.email')}</dt>
        <dd>{user.email}</dd>
        <dt>{t('users.status')}</dt>
        <dd>{t(`users.status.${user.status}`)}</dd>
        <dt>{t('users.lastLogin')}</dt>
        <dd>{user.last_login_at ? <Time iso={user.last_login_at} /> : t('users.never')}</dd>
      </dl>
      <p>
        <a href={`/console/audit?${new URLSearchParams({ target: user.id })}`}>{t('users.auditOf')}</a>
      </p>
      <h2>{t('users.edit')}</h2>
      <PostForm action={base} csrf={csrf} class="stack">
        <Field label={t('users.name')} name="name" required value={user.name} idPrefix="edit" />
        <Select label={t('users.role')} name="role" options={roleOptions(page)} value={user.role} idPrefix="edit" />
        <PermissionBoxes page={page} checked={user.permissions} idPrefix="edit" />
        <div>
          <button type="submit">{t('users.save')}</button>
        </div>
      </PostForm>
      <h2>{t('common.actions')}</h2>
      <div class="actions">
        <PostForm action={`${base}/status`} csrf={csrf} class="inline">
          <input type="hidden" name="status" value={user.status === 'active' ? 'disabled' : 'active'} />
          <button type="submit" class={user.status === 'active' ? 'danger' : undefined}>
            {user.status === 'active' ? t('users.disable') : t('users.enable')}
          </button>
        </PostForm>
        <PostForm action={`${base}/reset`} csrf={csrf} class="inline">
          <button type="submit" class="secondary">{t('users.reset')}</button>
        </PostForm>
        <PostForm action={`${base}/unlock`} csrf={csrf} class="inline">
          <button type="submit" class="secondary">{t('users.unlock')}</button>
        </PostForm>
      </div>
      <p>
        <a href="/console/users">{t('common.back')}</a>
      </p>
    </Layout>
  )
}

async function detail(c: ConsoleContext, id: string, extra: { flash?: FlashMessage | null; secret?: string } = {}, status = 200) {
  const user = await getAccount(database(c.env), c.var.principal.tenantId!, id)
  return html(c, <DetailPage page={c.var.page} user={user} {...extra} />, status)
}

function permissionsOf(form: Record<string, unknown>) {
  return texts(form as never, 'permissions')
}

const admin = consoleSession('tenant', { admin: true })

export const userPages = new Hono<ConsoleEnv>({ strict: true })

userPages.get('/console/users', admin, (c) => listPage(c))

userPages.post('/console/users', admin, async (c) => {
  const form = c.var.form
  const permissions = permissionsOf(form)
  const input = { email: text(form, 'email'), name: text(form, 'name'), role: text(form, 'role'), ...(permissions.length ? { permissions } : {}) }
  try {
    const parsed = UserCreateSchema.safeParse(input)
    if (!parsed.success) throw invalidFormProblem(parsed.error)
    const created = await createAccount(c.env, database(c.env), c.var.principal.tenantId!, parsed.data, actorOf(c as never), requestMeta(c), defer(c as never))
    // Shown on this one answer only (no-store), never put in a redirect or a cookie.
    return listPage(c, { flash: { kind: 'ok', text: c.var.page.t('users.created', { email: created.email }) }, secret: created.temporary_password }, 201)
  } catch (error) {
    return listPage(c, { flash: problemFlash(c.var.page.t, error), values: { ...input, permissions: permissions as Permission[] } }, (error as { status: number }).status)
  }
})

userPages.get('/console/users/:id', admin, async (c) => {
  const done = c.req.query('done')
  const flash = done === 'updated' ? ({ kind: 'ok', text: c.var.page.t('users.updated') } as const) : null
  return detail(c, c.req.param('id'), { flash })
})

async function patch(c: ConsoleContext, id: string, body: Record<string, unknown>) {
  try {
    const parsed = UserPatchSchema.safeParse(body)
    if (!parsed.success) throw invalidFormProblem(parsed.error)
    await updateAccount(c.env, database(c.env), c.var.principal.tenantId!, id, parsed.data, actorOf(c as never), requestMeta(c))
    return c.redirect(`/console/users/${id}?done=updated`, 303)
  } catch (error) {
    return detail(c, id, { flash: problemFlash(c.var.page.t, error) }, (error as { status: number }).status)
  }
}

userPages.post('/console/users/:id', admin, (c) =>
  patch(c, c.req.param('id'), { name: text(c.var.form, 'name'), role: text(c.var.form, 'role'), permissions: permissionsOf(c.var.form) }),
)

userPages.post('/console/users/:id/status', admin, (c) => patch(c, c.req.param('id'), { status: text(c.var.form, 'status') }))

userPages.post('/console/users/:id/reset', admin, async (c) => {
  const id = c.req.param('id')
  try {
    const result = await forceReset(c.env, database(c.env), { tenantId: c.var.principal.tenantId!, userId: id }, actorOf(c as never), requestMeta(c), { defer: defer(c as never) })
    const flash = { kind: 'ok' as const, text: c.var.page.t('users.resetDone', { count: result.sessions_revoked }) }
    return detail(c, id, { flash, secret: result.temporary_password })
  } catch (error) {
    return detail(c, id, { flash: problemFlash(c.var.page.t, error) }, (error as { status: number }).status)
  }
})

userPages.post('/console/users/:id/unlock', admin, async (c) => {
  const id = c.req.param('id')
  const result = await unlockAccount(c.env, database(c.env), c.var.principal.tenantId!, id, actorOf(c as never), requestMeta(c))
  const t = c.var.page.t
  const flash = { kind: 'ok' as const, text: result.unlocked.length ? t('users.unlocked', { what: result.unlocked.join(', ') }) : t('users.nothingLocked') }
  return detail(c, id, { flash })
})
