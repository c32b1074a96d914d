/**
 * The browsable API reference at /docs: a static page plus a small script
 * that renders /openapi.json. Served from our own origin so the strict CSP
 * holds (no inline script, no CDN).
 */
export const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Mamori API reference</title>
<link rel="stylesheet" href="/docs/docs.css">
<script src="/docs/docs.js" defer></script>
</head>
<body>
<header><h1>Mamori API reference</h1><p>Generated from <a href="/openapi.json">/openapi.json</a>, the same schemas that validate every request.</p></header>
<nav id="toc" aria-label="Operations"></nav>
<main id="ops"><p>Loading…</p></main>
</body>
</html>`

export const DOCS_CSS = `body{font:15px/1.5 system-ui,sans-serif;margin:0;display:grid;grid-template-columns:18rem 1fr;grid-template-areas:"h h" "n m";color:#1d2330}
header{grid-area:h;padding:1rem 1.5rem;background:#14213d;color:#fff}header a{color:#9cc3ff}
nav{grid-area:n;padding:1rem;border-right:1px solid #ddd;position:sticky;top:0;align-self:start;max-height:100vh;overflow:auto}
nav h2{font-size:.8rem;text-transform:uppercase;color:#666;margin:1rem 0 .3rem}nav a{display:block;text-decoration:none;color:#14213d;font-size:.85rem;padding:.1rem 0}
main{grid-area:m;padding:1rem 2rem;max-width:60rem}section.op{border:1px solid #ddd;border-radius:6px;margin:1rem 0;padding:.8rem 1rem}
.m{font-weight:700;text-transform:uppercase;padding:.1rem .4rem;border-radius:3px;color:#fff;font-size:.8rem}
.get{background:#2b7a0b}.post{background:#1c64b5}.put,.patch{background:#a05a00}.delete{background:#b3261e}
code,pre{font-family:ui-monospace,monospace;font-size:.85rem}pre{background:#f5f6f8;padding:.6rem;overflow:auto;border-radius:4px}
.access{font-size:.8rem;color:#555}`

export const DOCS_JS = `'use strict'
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v)
  for (const c of children) node.append(c)
  return node
}
const deref = (spec, schema, seen = new Set()) => {
  if (!schema || typeof schema !== 'object') return schema
  if (schema.$ref) {
    const name = schema.$ref.split('/').pop()
    if (seen.has(name)) return { $ref: name }
    return deref(spec, spec.components.schemas[name], new Set([...seen, name]))
  }
  if (Array.isArray(schema)) return schema.map((s) => deref(spec, s, seen))
  return Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, deref(spec, v, seen)]))
}
const access = (op) => {
  const a = op['x-access']
  if (!a) return 'access: undeclared'
  if (a.audience === 'tenant') return 'access: tenant user' + (a.permission ? ', permission ' + a.permission : '')
  return 'access: ' + a.audience
}
fetch('/openapi.json').then((r) => r.json()).then((spec) => {
  const main = document.getElementById('ops')
  const toc = document.getElementById('toc')
  main.textContent = ''
  const byTag = new Map()
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const tag = (op.tags && op.tags[0]) || 'Other'
      if (!byTag.has(tag)) byTag.set(tag, [])
      byTag.get(tag).push({ path, method, op })
    }
  }
  let n = 0
  for (const [tag, ops] of byTag) {
    toc.append(el('h2', {}, tag))
    main.append(el('h2', {}, tag))
    for (const { path, method, op } of ops) {
      const id = 'op' + n++
      toc.append(el('a', { href: '#' + id }, method.toUpperCase() + ' ' + path))
      const section = el('section', { class: 'op', id },
        el('h3', {}, el('span', { class: 'm ' + method }, method), ' ', el('code', {}, path)),
        el('p', {}, op.summary || ''), el('p', { class: 'access' }, access(op)))
      if (op.description) section.append(el('p', {}, op.description))
      if (op.parameters && op.parameters.length) {
        section.append(el('h4', {}, 'Parameters'))
        section.append(el('pre', {}, JSON.stringify(op.parameters.map((p) => ({ name: p.name, in: p.in, required: !!p.required, schema: deref(spec, p.schema) })), null, 2)))
      }
      const body = op.requestBody && op.requestBody.content && op.requestBody.content['application/json']
      if (body) section.append(el('h4', {}, 'Request body'), el('pre', {}, JSON.stringify(deref(spec, body.schema), null, 2)))
      section.append(el('h4', {}, 'Responses'))
      for (const [status, res] of Object.entries(op.responses || {})) {
        const content = res.content && Object.values(res.content)[0]
        const details = el('details', {}, el('summary', {}, status + ' ' + (res.description || '')))
        if (content) details.append(el('pre', {}, JSON.stringify(deref(spec, content.schema), null, 2)))
        section.append(details)
      }
      main.append(section)
    }
  }
}).catch((e) => { document.getElementById('ops').textContent = 'Could not load /openapi.json: ' + e })
`
