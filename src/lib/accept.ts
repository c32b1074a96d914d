/** The q-value an Accept header gives a media type: its exact entry, else the best wildcard covering it, else 0. */
export function quality(accept: string, type: string, wildcards = true) {
  let exact: number | null = null
  let wild = 0
  for (const part of accept.split(',')) {
    const [range, ...params] = part.trim().toLowerCase().split(';')
    const q = Number(params.map((p) => p.trim()).find((p) => p.startsWith('q='))?.slice(2) ?? 1)
    const value = Number.isFinite(q) ? q : 0
    if (range === type) exact = Math.max(exact ?? 0, value)
    else if (wildcards && (range === '*/*' || range === `${type.split('/')[0]}/*`)) wild = Math.max(wild, value)
  }
  return exact ?? wild
}

/** HTML only for a client that names it and likes it better than JSON (a browser); a bare wildcard (curl, scripts) gets JSON. */
export function prefersHtml(accept: string | undefined) {
  return accept ? quality(accept, 'text/html', false) > quality(accept, 'application/json') : false
}
