/** @jsxImportSource hono/jsx */
import type { SlaReport } from '../../schemas/sla'
import { CHECKLIST_HEADER, type ChecklistLang, type ChecklistRow } from './checklist'

/**
 * The stylesheet, inline so a saved or printed copy is one self-contained
 * file; the page's Content-Security-Policy allows exactly this text by its
 * hash (checklistCsp), and no script at all.
 */
export const CHECKLIST_CSS = `
@page { size: A4 landscape; margin: 12mm; }
* { box-sizing: border-box; }
body { font-family: system-ui, sans-serif; font-size: 10pt; line-height: 1.45; color: #111; margin: 24px; }
h1 { font-size: 16pt; margin: 0 0 4px; }
.meta { margin: 0 0 12px; color: #333; }
table { border-collapse: collapse; width: 100%; }
thead { display: table-header-group; }
th, td { border: 1px solid #888; padding: 4px 6px; vertical-align: top; text-align: left; }
th { background: #eee; }
tr { break-inside: avoid; }
td.category { width: 8%; } td.item { width: 13%; } td.description { width: 27%; } td.unit { width: 8%; }
.stated { margin: 0; }
.live { margin: 4px 0 0; padding-left: 6px; border-left: 3px solid #888; }
.tag { font-weight: bold; }
.id { color: #555; font-size: 8pt; }
.met .live { border-color: #1a7f37; } .not_met .live { border-color: #cf222e; }
.not_yet_measured .live { border-color: #9a6700; }
footer { margin-top: 12px; color: #555; font-size: 8pt; }
@media print { body { margin: 0; } th { background: none; } }
`

let cssHash: Promise<string> | null = null

/** The page's own policy: no script, no network, only the stylesheet above. */
export async function checklistCsp(): Promise<string> {
  cssHash ??= crypto.subtle
    .digest('SHA-256', new TextEncoder().encode(CHECKLIST_CSS))
    .then((d) => btoa(String.fromCharCode(...new Uint8Array(d))))
  return `default-src 'none'; style-src 'sha256-${await cssHash}'; img-src 'none'; script-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`
}

const TEXT = {
  ja: {
    title: 'SLA チェックリスト回答',
    platform: 'プラットフォーム全体',
    month: '対象月',
    generated: '作成日時',
    counts: (c: SlaReport['counts']) => `達成 ${c.met}・未達 ${c.not_met}・未計測 ${c.not_yet_measured}・運用による回答 ${c.organisational}（要件 ${c.met + c.not_met + c.not_yet_measured + c.organisational} 項目）`,
    footer: '回答欄の括弧内は稼働中のサービスから取得した現在の値と根拠です。ID は要件一覧（REQUIREMENTS.md）の番号です。',
  },
  en: {
    title: 'Answered SLA checklist',
    platform: 'Whole platform',
    month: 'Month',
    generated: 'Generated',
    counts: (c: SlaReport['counts']) => `${c.met} met, ${c.not_met} not met, ${c.not_yet_measured} not measured yet, ${c.organisational} organisational (of ${c.met + c.not_met + c.not_yet_measured + c.organisational} requirements)`,
    footer: 'Below each stated answer: the value in force and its evidence, read from the running service. IDs refer to the requirements catalogue (REQUIREMENTS.md).',
  },
} as const

/** `2026-11-05 14:03 JST` for people; the report itself keeps ISO UTC. */
function jst(iso: string) {
  return `${new Date(Date.parse(iso) + 9 * 3_600_000).toISOString().slice(0, 16).replace('T', ' ')} JST`
}

/** How many rows from `i` on share the same value (the seed's merged cells). */
function spans(rows: ChecklistRow[], key: (r: ChecklistRow) => string): number[] {
  const out = rows.map(() => 0)
  for (let i = 0; i < rows.length; ) {
    let j = i + 1
    while (j < rows.length && key(rows[j]!) === key(rows[i]!)) j++
    out[i] = j - i
    i = j
  }
  return out
}

/**
 * The printable page: the seed's table with its merged category and item
 * cells, each answer with its live part marked by status in words (so it
 * reads the same printed in black and white).
 */
export function checklistHtml(report: SlaReport, tenant: { name: string; slug: string } | null, rows: ChecklistRow[], lang: ChecklistLang): string {
  const t = TEXT[lang]
  const header = CHECKLIST_HEADER[lang]
  const categorySpan = spans(rows, (r) => r.category)
  const itemSpan = spans(rows, (r) => `${r.category}\u0000${r.item}`)
  const who = tenant ? `${tenant.name} (${tenant.slug})` : t.platform
  const page = (
    <html lang={lang}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${t.title}: ${who}, ${report.month}`}</title>
        <style dangerouslySetInnerHTML={{ __html: CHECKLIST_CSS }} />
      </head>
      <body>
        <h1>{t.title}</h1>
        <p class="meta">
          {who}
          {' · '}
          {t.month}: {report.month}
          {' · '}
          {t.generated}: {jst(report.generated_at)}
        </p>
        <p class="meta">{t.counts(report.counts)}</p>
        <table>
          <thead>
            <tr>
              {header.map((h) => (
                <th scope="col">{h}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((r, i) => (
              <tr class={r.status}>
                {categorySpan[i]! > 0 && (
                  <td class="category" rowspan={categorySpan[i]}>
                    {r.category}
                  </td>
                )}
                {itemSpan[i]! > 0 && (
                  <td class="item" rowspan={itemSpan[i]}>
                    {r.item}
                  </td>
                )}
                <td class="description">{r.description}</td>
                <td class="unit">{r.unit}</td>
                <td class="answer">
                  <p class="stated">
                    {r.stated} <span class="id">[{r.requirement}]</span>
                  </p>
                  {r.live.map((part) => (
                    <p class="live">
                      <span class="tag">{part.label}</span> {part.text}
                    </p>
                  ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <footer>{t.footer}</footer>
      </body>
    </html>
  )
  return `<!doctype html>${page.toString()}`
}
