// The I/O of a snapshot, its verification and a restore, without Mamori: records of about 500 bytes read
// from local D1 in keyset pages of 1,000 rows as NDJSON into an R2 multipart upload of 5 MiB parts (two in
// flight), read back whole, then read again and written into D1 in json_each chunks of 512 KB, eight per
// batch. No sealing, hashing, workflow or audit: what the local runtime needs to move these bytes.
const PAGE_ROWS = 1000
const PART_BYTES = 5 * 1024 * 1024
const COLUMNS = ['id', 'tenant_id', 'collection', 'data', 'created_at', 'updated_at', 'created_by', 'updated_by']

async function seed(env, n) {
  await env.DB.exec(`CREATE TABLE IF NOT EXISTS records (${COLUMNS.map((c) => `${c} TEXT`).join(', ')}, PRIMARY KEY (id))`)
  await env.DB.exec('CREATE INDEX IF NOT EXISTS records_tenant ON records (tenant_id, id)')
  await env.DB.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) INSERT INTO records SELECT printf('rec_%026d', i), 'source', 'bench', ` +
      `json_object('i', i, 'body', hex(randomblob(240))), '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', 'system:bench', 'system:bench' FROM n`,
  )
    .bind(n)
    .run()
}

async function snapshot(env) {
  const upload = await env.BUCKET.createMultipartUpload('data')
  const parts = []
  let buffered = []
  let length = 0
  const send = () => {
    const body = new Uint8Array(Math.min(length, PART_BYTES))
    let at = 0
    while (at < body.length) {
      const head = buffered[0]
      const take = Math.min(head.length, body.length - at)
      body.set(head.subarray(0, take), at)
      at += take
      if (take === head.length) buffered.shift()
      else buffered[0] = head.subarray(take)
    }
    length -= body.length
    parts.push(upload.uploadPart(parts.length + 1, body))
  }
  let after = ''
  for (;;) {
    const rows = await env.DB.prepare(`SELECT ${COLUMNS.join(', ')} FROM records WHERE tenant_id = 'source' AND id > ? ORDER BY id LIMIT ?`).bind(after, PAGE_ROWS).raw()
    const chunk = new TextEncoder().encode(rows.map((r) => `${JSON.stringify(r)}\n`).join(''))
    buffered.push(chunk)
    length += chunk.length
    while (length >= PART_BYTES) {
      if (parts.length >= 2) await parts[parts.length - 2]
      send()
    }
    if (rows.length < PAGE_ROWS) break
    after = rows.at(-1)[0]
  }
  if (length) send()
  await upload.complete(await Promise.all(parts))
}

/** Streams the object's lines to `onLine`. */
async function readBack(env, onLine) {
  const reader = (await env.BUCKET.get('data')).body.pipeThrough(new TextDecoderStream()).getReader()
  let pending = ''
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    pending += value
    let at
    while ((at = pending.indexOf('\n')) >= 0) {
      await onLine(pending.slice(0, at))
      pending = pending.slice(at + 1)
    }
  }
}

async function restore(env) {
  const insert = `INSERT INTO records (${COLUMNS.join(', ')}) SELECT ${COLUMNS.map((_, i) => `json_extract(value, '$[${i}]')`).join(', ')} FROM json_each(?)`
  let rows = []
  let chars = 0
  let batch = []
  let inFlight = Promise.resolve()
  const flush = async (force) => {
    if (rows.length) batch.push(env.DB.prepare(insert).bind(JSON.stringify(rows)))
    rows = []
    chars = 0
    if (batch.length >= 8 || (force && batch.length)) {
      await inFlight
      inFlight = env.DB.batch(batch)
      batch = []
    }
  }
  await readBack(env, async (line) => {
    const row = JSON.parse(line)
    row[0] = `${row[0]}_copy`
    row[1] = 'copy'
    rows.push(row)
    chars += line.length
    if (chars >= 512 * 1024) await flush(false)
  })
  await flush(true)
  await inFlight
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url)
    if (url.pathname === '/health') return new Response('ok')
    if (url.pathname === '/seed') await seed(env, Number(url.searchParams.get('n')))
    else if (url.pathname === '/snapshot') await snapshot(env)
    else if (url.pathname === '/verify') await readBack(env, () => {})
    else if (url.pathname === '/restore') await restore(env)
    else return new Response('not found', { status: 404 })
    return new Response('done')
  },
}
