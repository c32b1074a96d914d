/** @jsxImportSource hono/jsx */
import { Hono } from 'hono'
import { database } from '../../../db/client'
import type { z } from '@hono/zod-openapi'
import type { OperatorSchema } from '../../../schemas/auth'
import { OperatorInviteSchema, OperatorPatchSchema } from '../../../schemas/operators'
import { inviteOperator, listOperators, setOperatorStatus } from '../../../services/identity/operator-accounts'
import { unlockOperator } from '../../../services/identity/operators'
import { Field, Flash, Pager, PostForm, Select, Table, TemporaryPassword, Time, type FlashMessage } from '../../../views/components'
import { Layout, type PageContext } from '../../../views/layout'
import { defer, requestMeta } from '../../context'
import { consoleSession, doneFlash, html, problemFlash, text, type ConsoleContext, type ConsoleEnv } from '../kit/page'
import { invalidFormProblem, listQuery } from '../kit/validate'

const PAGE_SIZE = 50
const signedIn = consoleSession('ops')

type Operator = z.infer<typeof OperatorSchema>
type InviteValues = { email?: string; name?: string; language?: string }

function InviteForm({ page, values }: { page: PageContext; values?: InviteValues }) {
  const { t } = page
  return (
    <section aria-labelledby="invite">
      <h2 id="invite">{t('ops.operators.invite')}</h2>
      <PostForm action="/ops/console/operators" csrf={page.viewer!.csrf} class="stack">
        <Field label={t('ops.operators.email')} name="email" type="email" required value={values?.email} idPrefix="new" autocomplete="off" />
        <Field label={t('ops.operators.name')} name="name" required value={values?.name} idPrefix="new" autocomplete="off" />
        <Select
          label={t('ops.operators.language')}
          name="language"
          options={[
            { value: 'ja', label: t('lang.ja') },
            { value: 'en', label: t('lang.en') },
          ]}
          value={values?.language ?? 'ja'}
          idPrefix="new"
          hint={t('ops.operators.languageHint')}
        />
        <div>
          <button type="submit">{t('ops.operators.invite')}</button>
        </div>
      </PostForm>
    </section>
  )
}

function StatusForm({ page, operator, self }: { page: PageContext; operator: Operator; self: string | null | undefined }) {
  const { t } = page
  // One's own account cannot be disabled (409 in the service): no button to press.
  if (operator.id === self) return <span class="hint">{t('ops.operators.you')}</span>
  const disable = operator.status === 'active'
  return (
    <PostForm action={`/ops/console/operators/${operator.id}/status`} csrf={page.viewer!.csrf} class="inline">
      <input type="hidden" name="status" value={disable ? 'disabled' : 'active'} />
      <button type="submit" class={disable ? 'danger' : 'secondary'} aria-label={`${disable ? t('ops.operators.disable') : t('ops.operators.enable')}: ${operator.email}`}>
        {disable ? t('ops.operators.disable') : t('ops.operators.enable')}
      </button>
    </PostForm>
  )
}

/** Ends an operator's sign-in and second-factor locks and their networks' blocks (POST /ops/v1/operators/{id}/unlock). */
function UnlockForm({ page, operator }: { page: PageContext; operator: Operator }) {
  const { t } = page
  return (
    <PostForm action={`/ops/console/operators/${operator.id}/unlock`} csrf={page.viewer!.csrf} class="inline">
      <button type="submit" class="secondary" aria-label={`${t('ops.operators.unlock')}: ${operator.email}`}>
        {t('ops.operators.unlock')}
      </button>
    </PostForm>
  )
}

async function listPage(c: ConsoleContext, extra: { flash?: FlashMessage | null; secret?: string; values?: InviteValues } = {}, status = 200) {
  const page = c.var.page
  const { t } = page
  const query = listQuery(c, PAGE_SIZE)
  const list = await listOperators(database(c.env), query.limit, query.cursor)
  return html(
    c,
    <Layout page={page} title={t('ops.operators.title')}>
      <Flash flash={extra.flash} />
      <TemporaryPassword t={t} secret={extra.secret} />
      <Table<Operator>
        caption={t('ops.operators.title')}
        empty={t('common.none')}
        rows={list.items}
        columns={[
          { label: t('ops.operators.email'), cell: (o) => o.email },
          { label: t('ops.operators.name'), cell: (o) => o.name },
          { label: t('ops.operators.status'), cell: (o) => t(`ops.operators.status.${o.status}`), nowrap: true },
          { label: t('ops.operators.lastLogin'), cell: (o) => (o.last_login_at ? <Time iso={o.last_login_at} /> : t('common.none')), nowrap: true },
          { label: t('ops.operators.createdAt'), cell: (o) => <Time iso={o.created_at} />, nowrap: true },
          {
            label: t('common.actions'),
            cell: (o) => (
              <>
                <StatusForm page={page} operator={o} self={c.var.principal.actorId} /> <UnlockForm page={page} operator={o} />
              </>
            ),
          },
        ]}
      />
      <Pager t={t} base="/ops/console/operators" params={new URLSearchParams()} next={list.next_cursor} hasCursor={!!query.cursor} />
      <InviteForm page={page} values={extra.values} />
    </Layout>,
    status,
  )
}

export const operatorPages = new Hono<ConsoleEnv>({ strict: true })

operatorPages.get('/ops/console/operators', signedIn, (c) => {
  const flash = doneFlash(c, { disabled: 'ops.operators.disabled', active: 'ops.operators.enabled', unlocked: 'ops.operators.unlocked' })
  return listPage(c, { flash })
})

operatorPages.post('/ops/console/operators', signedIn, async (c) => {
  const form = c.var.form
  const values: InviteValues = { email: text(form, 'email').trim(), name: text(form, 'name'), language: text(form, 'language') }
  try {
    const parsed = OperatorInviteSchema.safeParse({ email: values.email, name: values.name, language: values.language || null })
    if (!parsed.success) throw invalidFormProblem(parsed.error)
    const invited = await inviteOperator(c.env, database(c.env), c.var.principal, parsed.data, requestMeta(c), defer(c as never))
    // Shown on this one answer only (no-store), never put in a redirect or a cookie.
    const flash = { kind: 'ok' as const, text: c.var.page.t('ops.operators.invited', { email: invited.email }) }
    return listPage(c, { flash, secret: invited.temporary_password }, 201)
  } catch (error) {
    return listPage(c, { flash: problemFlash(c.var.page.t, error), values }, (error as { status: number }).status)
  }
})

operatorPages.post('/ops/console/operators/:id/status', signedIn, async (c) => {
  try {
    const parsed = OperatorPatchSchema.safeParse({ status: text(c.var.form, 'status') })
    if (!parsed.success) throw invalidFormProblem(parsed.error)
    await setOperatorStatus(c.env, database(c.env), c.var.principal, c.req.param('id'), parsed.data.status, requestMeta(c))
    return c.redirect(`/ops/console/operators?done=${parsed.data.status}`, 303)
  } catch (error) {
    return listPage(c, { flash: problemFlash(c.var.page.t, error) }, (error as { status: number }).status)
  }
})

operatorPages.post('/ops/console/operators/:id/unlock', signedIn, async (c) => {
  try {
    await unlockOperator(c.env, database(c.env), c.var.principal, c.req.param('id'), requestMeta(c))
    return c.redirect('/ops/console/operators?done=unlocked', 303)
  } catch (error) {
    return listPage(c, { flash: problemFlash(c.var.page.t, error) }, (error as { status: number }).status)
  }
})
