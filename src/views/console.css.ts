/**
 * The console's one stylesheet, served from a route with a year's cache
 * (the URL carries STYLE_VERSION), so the CSP needs no inline style at all.
 * Colours keep at least 4.5:1 contrast on their backgrounds; focus is a
 * thick outline on everything that can take it.
 */
export const STYLE_VERSION = '4'

export const CONSOLE_CSS = `
:root{--fg:#1a1a1a;--muted:#4a4a4a;--bg:#fff;--line:#c4c4c4;--accent:#0b4f9c;--accent-fg:#fff;--soft:#eef3fa;--ok:#14532d;--ok-bg:#e7f6ec;--bad:#8b1010;--bad-bg:#fdecec;--warn:#6b4400;--warn-bg:#fff4d6}
*{box-sizing:border-box}
html{font-family:system-ui,-apple-system,"Segoe UI","Hiragino Sans","Noto Sans JP","Yu Gothic UI",Meiryo,sans-serif;line-height:1.6;color:var(--fg);background:var(--bg)}
body{margin:0}
a{color:var(--accent)}
:focus-visible{outline:3px solid #e07b00;outline-offset:2px}
.skip{position:absolute;left:-999px;top:0;background:var(--accent);color:var(--accent-fg);padding:.5rem 1rem}
.skip:focus{left:0}
header.top{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1.5rem;padding:.6rem 1.2rem;background:var(--accent);color:var(--accent-fg)}
header.top a,header.top .brand{color:var(--accent-fg)}
header.top .brand{font-weight:700;text-decoration:none;font-size:1.1rem}
header.top .who{margin-left:auto;font-size:.9rem}
nav.main ul{display:flex;flex-wrap:wrap;gap:.25rem 1rem;list-style:none;margin:0;padding:0}
nav.main a{text-decoration:none;padding:.2rem .1rem}
nav.main a[aria-current=page]{text-decoration:underline;text-underline-offset:4px;font-weight:700}
header.top form{display:inline;margin:0}
header.top button{background:transparent;color:var(--accent-fg);border:1px solid var(--accent-fg);padding:.2rem .6rem;font:inherit;cursor:pointer;border-radius:4px}
main{max-width:72rem;margin:0 auto;padding:1rem 1.2rem 3rem}
main.narrow{max-width:28rem}
h1{font-size:1.5rem;margin:.8rem 0 1rem}
h2{font-size:1.2rem;margin:1.6rem 0 .6rem}
.flash{padding:.7rem 1rem;border-radius:6px;margin:.8rem 0;border:1px solid}
.flash.ok{background:var(--ok-bg);color:var(--ok);border-color:var(--ok)}
.flash.error{background:var(--bad-bg);color:var(--bad);border-color:var(--bad)}
.flash.warn{background:var(--warn-bg);color:var(--warn);border-color:var(--warn)}
.flash ul{margin:.3rem 0 0;padding-left:1.2rem}
.secret{font-family:ui-monospace,Consolas,monospace;font-size:1.2rem;background:#fff;color:var(--fg);padding:.2rem .5rem;border:1px dashed var(--muted);user-select:all}
form.stack{display:grid;gap:.9rem;max-width:32rem}
form.inline{display:inline}
div.stack{display:grid;gap:.9rem}
form.beside{max-width:52rem}
.beside .field{grid-template-columns:minmax(10rem,20rem) 1fr;column-gap:1.2rem;align-items:center}
.beside .field label{grid-column:1/-1}
.beside .field textarea{grid-column:1}
@media (max-width:40rem){.beside .field{grid-template-columns:1fr}}
.filters{display:grid;grid-template-columns:repeat(auto-fill,minmax(13rem,1fr));gap:.7rem 1rem;align-items:end;padding:1rem;background:var(--soft);border-radius:6px}
.field{display:grid;gap:.25rem}
.field label,.field legend{font-weight:600}
.hint{color:var(--muted);font-size:.9rem}
.bound{color:var(--muted);font-size:.9rem}
input[type=text],input[type=email],input[type=password],input[type=number],input[type=date],input[type=datetime-local],select,textarea{font:inherit;padding:.45rem .55rem;border:1px solid #767676;border-radius:4px;background:#fff;color:var(--fg);width:100%}
fieldset{border:1px solid var(--line);border-radius:6px;padding:.6rem 1rem}
.check{display:flex;gap:.5rem;align-items:center;font-weight:400}
button,.button{font:inherit;padding:.45rem 1rem;border-radius:4px;border:1px solid var(--accent);background:var(--accent);color:var(--accent-fg);cursor:pointer;text-decoration:none;display:inline-block}
button,.button{white-space:nowrap}
button.secondary,.button.secondary{background:#fff;color:var(--accent)}
button.danger,.button.danger{background:var(--bad);border-color:var(--bad);color:#fff}
.actions{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin:.8rem 0}
.table-wrap{overflow-x:auto}
.table-wrap+.table-wrap{margin-top:1.4rem}
table{border-collapse:collapse;width:100%;font-size:.95rem}
caption{text-align:left;font-weight:600;padding:.3rem 0}
th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid var(--line);vertical-align:top}
th{background:var(--soft)}
td.num,th.num{text-align:right}
th,td.nowrap{white-space:nowrap}
code,.mono{font-family:ui-monospace,Consolas,monospace;font-size:.9em;word-break:break-all}
.pager{display:flex;gap:1rem;margin:1rem 0}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(14rem,1fr));gap:1rem}
.card{border:1px solid var(--line);border-radius:6px;padding:.8rem 1rem}
.card .big{font-size:1.3rem;font-weight:700}
meter{width:100%;height:1rem}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem}
dl.facts dt{font-weight:600}
dl.facts dd{margin:0}
.qr svg{width:14rem;height:14rem;background:#fff}
textarea{font:inherit;resize:vertical}
textarea.mono{font-family:ui-monospace,Consolas,monospace;font-size:.9rem}
.pre{white-space:pre-wrap;word-break:break-word}
.status{display:inline-block;padding:.05rem .5rem;border-radius:999px;font-size:.85rem;font-weight:600;border:1px solid;white-space:nowrap}
.status.met{background:var(--ok-bg);color:var(--ok)}
.status.not_met{background:var(--bad-bg);color:var(--bad)}
.status.not_yet_measured{background:var(--warn-bg);color:var(--warn)}
.status.organisational{background:var(--soft);color:var(--accent)}
ul.links{display:flex;flex-wrap:wrap;gap:.4rem 1.5rem;list-style:none;padding:0;margin:.4rem 0 1rem}
ul.codes{display:grid;grid-template-columns:repeat(auto-fill,minmax(12rem,1fr));gap:.5rem;list-style:none;padding:0}
ol.steps{padding-left:1.4rem}
.card.incident{margin:0 0 1rem}
.card h3{margin:.2rem 0 .6rem}
input[type=month],input[type=file]{font:inherit}
input[type=month]{padding:.45rem .55rem;border:1px solid #767676;border-radius:4px;width:100%}
details{margin:.6rem 0}
pre.mono{white-space:pre-wrap;background:var(--soft);padding:.8rem;border-radius:6px}
footer.bottom{border-top:1px solid var(--line);padding:1rem 1.2rem;color:var(--muted);font-size:.9rem;text-align:center}
`
