/** @jsxImportSource hono/jsx */
import type { Child } from 'hono/jsx'
import type { Translate } from '../i18n'
import { formatJst } from '../services/operations/calendar'

/** Field name of the CSRF token in every state-changing form. */
export const CSRF_FIELD = '_csrf'

export function CsrfField({ token }: { token: string }) {
  return <input type="hidden" name={CSRF_FIELD} value={token} />
}

/** A POST form carrying the session's CSRF token. */
export function PostForm({ action, csrf, class: cls, multipart, children }: { action: string; csrf: string; class?: string; multipart?: boolean; children?: Child }) {
  return (
    <form method="post" action={action} class={cls} enctype={multipart ? 'multipart/form-data' : undefined}>
      <CsrfField token={csrf} />
      {children}
    </form>
  )
}

/** A labelled input; the id is derived from the name so the label always points at it. */
export function Field(props: {
  label: string
  name: string
  type?: string
  value?: string | number | undefined
  required?: boolean
  hint?: string
  autocomplete?: string
  min?: number
  max?: number
  idPrefix?: string
  inputmode?: 'text' | 'numeric' | 'email'
}) {
  const id = `${props.idPrefix ?? 'f'}-${props.name}`
  const hintId = props.hint ? `${id}-hint` : undefined
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <input
        id={id}
        name={props.name}
        type={props.type ?? 'text'}
        value={props.value === undefined ? undefined : String(props.value)}
        required={props.required}
        autocomplete={props.autocomplete}
        min={props.min}
        max={props.max}
        inputmode={props.inputmode}
        aria-describedby={hintId}
      />
      {props.hint ? (
        <span class="hint" id={hintId}>
          {props.hint}
        </span>
      ) : null}
    </div>
  )
}

/** A labelled multi-line input (announcement bodies, JSON, address lists). */
export function TextArea(props: { label: string; name: string; value?: string | undefined; required?: boolean; hint?: string; rows?: number; idPrefix?: string; mono?: boolean }) {
  const id = `${props.idPrefix ?? 'f'}-${props.name}`
  const hintId = props.hint ? `${id}-hint` : undefined
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <textarea id={id} name={props.name} rows={props.rows ?? 4} required={props.required} aria-describedby={hintId} class={props.mono ? 'mono' : undefined}>
        {props.value ?? ''}
      </textarea>
      {props.hint ? (
        <span class="hint" id={hintId}>
          {props.hint}
        </span>
      ) : null}
    </div>
  )
}

/** A labelled file input (multipart forms only). */
export function FileField(props: { label: string; name: string; required?: boolean; idPrefix?: string; hint?: string }) {
  const id = `${props.idPrefix ?? 'f'}-${props.name}`
  const hintId = props.hint ? `${id}-hint` : undefined
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <input id={id} name={props.name} type="file" required={props.required} aria-describedby={hintId} />
      {props.hint ? (
        <span class="hint" id={hintId}>
          {props.hint}
        </span>
      ) : null}
    </div>
  )
}

export function Select(props: { label: string; name: string; options: { value: string; label: string }[]; value?: string | undefined; idPrefix?: string; hint?: string }) {
  const id = `${props.idPrefix ?? 'f'}-${props.name}`
  const hintId = props.hint ? `${id}-hint` : undefined
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <select id={id} name={props.name} aria-describedby={hintId}>
        {props.options.map((o) => (
          <option value={o.value} selected={o.value === props.value}>
            {o.label}
          </option>
        ))}
      </select>
      {props.hint ? (
        <span class="hint" id={hintId}>
          {props.hint}
        </span>
      ) : null}
    </div>
  )
}

export function Checkbox(props: { label: string; name: string; value?: string; checked?: boolean; idPrefix?: string }) {
  const id = `${props.idPrefix ?? 'c'}-${props.name}-${props.value ?? 'on'}`.replace(/[^\w-]/g, '_')
  return (
    <label class="check" for={id}>
      <input type="checkbox" id={id} name={props.name} value={props.value ?? 'on'} checked={props.checked} />
      {props.label}
    </label>
  )
}

export type FlashMessage = { kind: 'ok' | 'error' | 'warn'; text: string; details?: string[] }

export function Flash({ flash }: { flash?: FlashMessage | FlashMessage[] | null | undefined }) {
  if (!flash) return null
  const list = Array.isArray(flash) ? flash : [flash]
  return (
    <>
      {list.map((f) => (
        <div class={`flash ${f.kind}`} role={f.kind === 'error' ? 'alert' : 'status'}>
          {f.text}
          {f.details?.length ? (
            <ul>
              {f.details.map((d) => (
                <li>{d}</li>
              ))}
            </ul>
          ) : null}
        </div>
      ))}
    </>
  )
}

export type Column<T> = { label: string; cell: (row: T) => Child; num?: boolean; nowrap?: boolean }

/** A data table with a caption and column headers (scope=col for screen readers). */
export function Table<T>({ caption, columns, rows, empty }: { caption: string; columns: Column<T>[]; rows: T[]; empty: string }) {
  if (!rows.length) return <p>{empty}</p>
  return (
    <div class="table-wrap">
      <table>
        <caption>{caption}</caption>
        <thead>
          <tr>
            {columns.map((c) => (
              <th scope="col" class={c.num ? 'num' : undefined}>
                {c.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr>
              {columns.map((c) => (
                <td class={[c.num ? 'num' : '', c.nowrap ? 'nowrap' : ''].join(' ').trim() || undefined}>{c.cell(row)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

/** Cursor paging: a link to the first page and, when there is one, the next. */
export function Pager({ t, base, params, next, hasCursor }: { t: Translate; base: string; params: URLSearchParams; next: string | null; hasCursor: boolean }) {
  const first = new URLSearchParams(params)
  first.delete('cursor')
  const nextParams = new URLSearchParams(params)
  if (next) nextParams.set('cursor', next)
  const q = (p: URLSearchParams) => (p.size ? `${base}?${p}` : base)
  return (
    <nav class="pager" aria-label="pager">
      {hasCursor ? <a href={q(first)}>{t('common.first')}</a> : null}
      {next ? (
        <a href={q(nextParams)} rel="next">
          {t('common.next')}
        </a>
      ) : null}
    </nav>
  )
}

/** An instant, in Japan time, machine-readable too. */
export function Time({ iso }: { iso: string | null | undefined }) {
  if (!iso) return <>–</>
  return <time datetime={iso}>{formatJst(iso)}</time>
}

/**
 * A temporary password, shown once on the answer that created it (pages
 * that show one are `no-store`; it is never put in a redirect or a cookie).
 */
export function TemporaryPassword({ t, secret }: { t: Translate; secret?: string | null | undefined }) {
  if (!secret) return null
  return (
    <p>
      {t('users.tempPassword')}: <span class="secret" data-testid="temporary-password">{secret}</span>
    </p>
  )
}
