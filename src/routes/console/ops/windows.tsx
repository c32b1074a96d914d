/** @jsxImportSource hono/jsx */
import { Hono } from 'hono'
import { database } from '../../../db/client'
import { StandingRuleSchema, WindowCreateSchema, WindowPatchSchema, type MaintenanceWindow } from '../../../schemas/operations'
import { setStandingRule } from '../../../services/operations/standing-rule'
import { cancelWindow, changeWindow, listWindows, scheduleWindow } from '../../../services/operations/windows'
import type { Interval, StandingRule } from '../../../services/operations/calendar'
import { Checkbox, Field, Flash, Pager, PostForm, Select, Table, TextArea, Time, type FlashMessage } from '../../../views/components'
import { Layout, type PageContext } from '../../../views/layout'
import { actorOf, defer, requestMeta } from '../../context'
import { isoToJstLocal, jstLocalToIso } from '../kit/jst'
import { consoleSession, doneFlash, html, problemFlash, text, type ConsoleContext, type ConsoleEnv, type Form } from '../kit/page'
import { invalidFormProblem } from '../kit/validate'

const PAGE_SIZE = 50
const signedIn = consoleSession('ops')

type Values = { kind?: string; starts_at?: string; duration_minutes?: string; emergency?: boolean; reason?: string; message?: string }

/** The window fields of a schedule or change form, as typed, and as the API's input (JST times made instants). */
function windowFields(form: Form): { values: Values; input: Record<string, unknown> } {
  const values: Values = {
    kind: text(form, 'kind'),
    starts_at: text(form, 'starts_at'),
    duration_minutes: text(form, 'duration_minutes').trim(),
    emergency: text(form, 'emergency') === 'true',
    reason: text(form, 'reason').trim(),
    message: text(form, 'message').trim(),
  }
  const input = {
    starts_at: jstLocalToIso(values.starts_at!),
    duration_minutes: values.duration_minutes === '' ? undefined : Number(values.duration_minutes),
    ...(values.emergency ? { emergency: true } : {}),
    ...(values.reason ? { reason: values.reason } : {}),
    ...(values.message ? { message: values.message } : {}),
  }
  return { values, input }
}

/** The fields a window is scheduled or changed with; `prefix` keeps each form's IDs its own. */
function WindowFields({ page, prefix, values }: { page: PageContext; prefix: string; values: Values }) {
  const { t } = page
  return (
    <>
      <Field label={t('ops.windows.startsAt')} name="starts_at" type="datetime-local" required value={values.starts_at} idPrefix={prefix} hint={t('ops.windows.leadHint')} />
      <Field label={t('ops.windows.duration')} name="duration_minutes" type="number" min={1} max={300} required value={values.duration_minutes} idPrefix={prefix} hint={t('ops.windows.durationHint')} />
      <Checkbox label={t('ops.windows.emergency')} name="emergency" value="true" checked={values.emergency} idPrefix={prefix} />
      <TextArea label={t('ops.windows.reason')} name="reason" value={values.reason} rows={2} idPrefix={prefix} hint={t('ops.windows.reasonHint')} />
      <TextArea label={t('ops.windows.message')} name="message" value={values.message} rows={2} idPrefix={prefix} hint={t('ops.windows.messageHint')} />
    </>
  )
}

/** Changes a scheduled window that has not begun (PATCH /ops/v1/maintenance-windows/{id}): prefilled with what it is. */
function ChangeForm({ page, window: w }: { page: PageContext; window: MaintenanceWindow }) {
  const { t } = page
  const prefix = `change-${w.id}`
  const shown = isoToJstLocal(Date.parse(w.starts_at))
  return (
    <details id={prefix}>
      <summary>
        {t('ops.windows.change')}: <Time iso={w.starts_at} /> ({t(`ops.windows.kind.${w.kind}`)})
      </summary>
      <PostForm action={`/ops/console/windows/${w.id}`} csrf={page.viewer!.csrf} class="stack">
        <input type="hidden" name="was_starts_at" value={shown} />
        <WindowFields
          page={page}
          prefix={prefix}
          values={{ starts_at: shown, duration_minutes: String(w.duration_minutes), emergency: w.emergency, reason: w.reason ?? undefined, message: w.message ?? undefined }}
        />
        <div>
          <button type="submit" aria-label={`${t('ops.windows.change')} ${w.id}`}>
            {t('ops.windows.change')}
          </button>
        </div>
      </PostForm>
    </details>
  )
}

/** The standing monthly window (AV-1), replaced as a whole (PUT /ops/v1/maintenance-windows/standing-rule). */
function StandingRuleForm({ page, rule }: { page: PageContext; rule: StandingRule }) {
  const { t } = page
  return (
    <PostForm action="/ops/console/windows/standing-rule" csrf={page.viewer!.csrf} class="stack">
      <Select
        label={t('ops.windows.ruleWeek')}
        name="week_of_month"
        value={String(rule.week_of_month)}
        idPrefix="rule"
        options={[1, 2, 3, 4].map((n) => ({ value: String(n), label: String(n) }))}
      />
      <Select
        label={t('ops.windows.ruleWeekday')}
        name="weekday"
        value={String(rule.weekday)}
        idPrefix="rule"
        options={([0, 1, 2, 3, 4, 5, 6] as const).map((n) => ({ value: String(n), label: t(`weekday.${n}`) }))}
      />
      <Field label={t('ops.windows.ruleTime')} name="start_time_jst" type="time" required value={rule.start_time_jst} idPrefix="rule" />
      <Field label={t('ops.windows.duration')} name="duration_minutes" type="number" min={1} max={300} required value={String(rule.duration_minutes)} idPrefix="rule" hint={t('ops.windows.ruleHint')} />
      <div>
        <button type="submit">{t('ops.windows.ruleSave')}</button>
      </div>
    </PostForm>
  )
}

function ScheduleForm({ page, values }: { page: PageContext; values?: Values }) {
  const { t } = page
  return (
    <section aria-labelledby="schedule">
      <h2 id="schedule">{t('ops.windows.schedule')}</h2>
      <PostForm action="/ops/console/windows" csrf={page.viewer!.csrf} class="stack">
        <Select
          label={t('ops.windows.kind')}
          name="kind"
          value={values?.kind ?? 'maintenance'}
          idPrefix="new"
          options={[
            { value: 'maintenance', label: t('ops.windows.kind.maintenance') },
            { value: 'outage', label: t('ops.windows.kind.outage') },
          ]}
        />
        <WindowFields page={page} prefix="new" values={{ duration_minutes: '60', ...values }} />
        <div>
          <button type="submit">{t('ops.windows.schedule')}</button>
        </div>
      </PostForm>
    </section>
  )
}

async function listPage(c: ConsoleContext, extra: { flash?: FlashMessage | null; values?: Values } = {}, status = 200) {
  const page = c.var.page
  const { t } = page
  const cursor = c.req.query('cursor')
  const list = await listWindows(database(c.env), { limit: PAGE_SIZE, cursor })
  const open = list.items.filter((w) => w.state === 'scheduled' || w.state === 'active')
  const past = list.items.filter((w) => w.state !== 'scheduled' && w.state !== 'active')
  const rule = list.standing_rule
  const columns = (withCancel: boolean) => [
    { label: t('ops.windows.startsAt'), cell: (w: MaintenanceWindow) => <Time iso={w.starts_at} />, nowrap: true },
    { label: t('ops.windows.endsAt'), cell: (w: MaintenanceWindow) => <Time iso={w.ends_at} />, nowrap: true },
    { label: t('ops.windows.kind'), cell: (w: MaintenanceWindow) => t(`ops.windows.kind.${w.kind}`), nowrap: true },
    { label: t('ops.windows.state'), cell: (w: MaintenanceWindow) => t(`ops.windows.state.${w.state}`), nowrap: true },
    { label: t('ops.windows.emergency'), cell: (w: MaintenanceWindow) => (w.emergency ? `${t('common.yes')}: ${w.reason ?? ''}` : t('common.no')) },
    { label: t('ops.windows.scope'), cell: (w: MaintenanceWindow) => (w.tenant_ids ? w.tenant_ids.length : t('ops.windows.allTenants')), nowrap: true },
    { label: t('ops.windows.message'), cell: (w: MaintenanceWindow) => w.message ?? '–' },
    ...(withCancel
      ? [
          {
            label: t('common.actions'),
            cell: (w: MaintenanceWindow) =>
              w.state === 'scheduled' ? (
                <PostForm action={`/ops/console/windows/${w.id}/cancel`} csrf={page.viewer!.csrf} class="inline">
                  <button type="submit" class="secondary" aria-label={`${t('ops.windows.cancel')} ${w.id}`}>
                    {t('ops.windows.cancel')}
                  </button>
                </PostForm>
              ) : (
                '–'
              ),
          },
        ]
      : []),
  ]
  return html(
    c,
    <Layout page={page} title={t('ops.windows.title')}>
      <Flash flash={extra.flash} />
      <section aria-labelledby="standing">
        <h2 id="standing">{t('ops.windows.standing')}</h2>
        <p>{t('ops.windows.rule', { week: rule.week_of_month, weekday: t(`weekday.${rule.weekday}`), time: rule.start_time_jst, minutes: rule.duration_minutes })}</p>
        <details id="standing-rule">
          <summary>{t('ops.windows.ruleChange')}</summary>
          <StandingRuleForm page={page} rule={rule} />
        </details>
        <Table<Interval>
          caption={t('ops.windows.standingNext')}
          empty={t('common.none')}
          rows={list.standing_windows}
          columns={[
            { label: t('ops.windows.startsAt'), cell: (w) => <Time iso={w.starts_at} />, nowrap: true },
            { label: t('ops.windows.endsAt'), cell: (w) => <Time iso={w.ends_at} />, nowrap: true },
          ]}
        />
      </section>
      <section aria-labelledby="upcoming">
        <h2 id="upcoming">{t('ops.windows.upcoming')}</h2>
        <Table<MaintenanceWindow> caption={t('ops.windows.upcoming')} empty={t('common.none')} rows={open} columns={columns(true)} />
        {/* Below the table rather than in a cell: a form needs the width. Only a window that has not begun can change. */}
        {open
          .filter((w) => w.state === 'scheduled' && Date.parse(w.starts_at) > Date.now())
          .map((w) => (
            <ChangeForm page={page} window={w} />
          ))}
      </section>
      <ScheduleForm page={page} values={extra.values} />
      <section aria-labelledby="past">
        <h2 id="past">{t('ops.windows.past')}</h2>
        <Table<MaintenanceWindow> caption={t('ops.windows.past')} empty={t('common.none')} rows={past} columns={columns(false)} />
      </section>
      <Pager t={t} base="/ops/console/windows" params={new URLSearchParams(cursor ? { cursor } : {})} next={list.next_cursor} hasCursor={!!cursor} />
    </Layout>,
    status,
  )
}

export const windowPages = new Hono<ConsoleEnv>({ strict: true })

windowPages.get('/ops/console/windows', signedIn, (c) => {
  const flash = doneFlash(c, { cancelled: 'ops.windows.cancelled', scheduled: 'ops.windows.scheduled', changed: 'ops.windows.changed', rule: 'ops.windows.ruleSaved' })
  return listPage(c, { flash })
})

windowPages.post('/ops/console/windows', signedIn, async (c) => {
  const { values, input } = windowFields(c.var.form)
  try {
    const parsed = WindowCreateSchema.safeParse({ kind: values.kind, ...input })
    if (!parsed.success) throw invalidFormProblem(parsed.error)
    await scheduleWindow(c.env, database(c.env), parsed.data, actorOf(c as never), requestMeta(c), defer(c as never))
    return c.redirect('/ops/console/windows?done=scheduled', 303)
  } catch (error) {
    return listPage(c, { flash: problemFlash(c.var.page.t, error), values }, (error as { status: number }).status)
  }
})

windowPages.post('/ops/console/windows/:id/cancel', signedIn, async (c) => {
  try {
    await cancelWindow(c.env, database(c.env), c.req.param('id'), actorOf(c as never), requestMeta(c), defer(c as never))
    return c.redirect('/ops/console/windows?done=cancelled', 303)
  } catch (error) {
    return listPage(c, { flash: problemFlash(c.var.page.t, error) }, (error as { status: number }).status)
  }
})

windowPages.post('/ops/console/windows/standing-rule', signedIn, async (c) => {
  const form = c.var.form
  const number = (name: string) => (text(form, name).trim() === '' ? undefined : Number(text(form, name)))
  try {
    const parsed = StandingRuleSchema.safeParse({
      week_of_month: number('week_of_month'),
      weekday: number('weekday'),
      start_time_jst: text(form, 'start_time_jst').trim(),
      duration_minutes: number('duration_minutes'),
    })
    if (!parsed.success) throw invalidFormProblem(parsed.error)
    await setStandingRule(c.env, database(c.env), parsed.data, actorOf(c as never), requestMeta(c))
    return c.redirect('/ops/console/windows?done=rule', 303)
  } catch (error) {
    return listPage(c, { flash: problemFlash(c.var.page.t, error) }, (error as { status: number }).status)
  }
})

windowPages.post('/ops/console/windows/:id', signedIn, async (c) => {
  const { values, input } = windowFields(c.var.form)
  // The form shows the start to the minute: left as shown, it is not a change (a start with seconds would else move).
  if (values.starts_at === text(c.var.form, 'was_starts_at')) delete input.starts_at
  try {
    // An unticked box is a choice too: the emergency mark is dropped (which needs the lead time again).
    const parsed = WindowPatchSchema.safeParse({ emergency: false, ...input })
    if (!parsed.success) throw invalidFormProblem(parsed.error)
    await changeWindow(c.env, database(c.env), c.req.param('id'), parsed.data, actorOf(c as never), requestMeta(c), defer(c as never))
    return c.redirect('/ops/console/windows?done=changed', 303)
  } catch (error) {
    return listPage(c, { flash: problemFlash(c.var.page.t, error) }, (error as { status: number }).status)
  }
})
