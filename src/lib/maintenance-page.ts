import type { Problem } from './problem'

function escapeHtml(text: string) {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`)
}

/**
 * The maintenance answer for people (a browser that asked for HTML): the
 * operator's message and the planned end, plain HTML under the app's strict
 * CSP (no script, no inline style, nothing from elsewhere), every value
 * escaped. Machines get the same facts as the problem document.
 */
export function maintenancePage(problem: Problem, requestId: string): string {
  const until = typeof problem.extra.until === 'string' ? problem.extra.until : null
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>Mamori: under maintenance</title></head><body><main>',
    '<h1>Under maintenance</h1>',
    `<p role="status">${escapeHtml(problem.detail ?? problem.title)}</p>`,
    until ? `<p>Planned end: <time datetime="${escapeHtml(until)}">${escapeHtml(until)}</time></p>` : '',
    '<p>See <a href="/status">the service status</a> for details.</p>',
    `<p><small>Request ID: ${escapeHtml(requestId)}</small></p>`,
    '</main></body></html>',
  ].join('')
}
