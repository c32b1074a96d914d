import { SELF, env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { ORIGIN, call, expectProblem, operator, tenantWithAdmin, userOf, type Reply, type TestTenant } from './helpers'

const FREE_QUOTA = 1073741824
const MiB = 1024 * 1024
const ADMIN_DEFAULTS = ['audit:read', 'files:read', 'files:write', 'records:read', 'records:write']
const MEMBER_DEFAULTS = ['files:read', 'files:write', 'records:read', 'records:write']

const text = (s: string) => new TextEncoder().encode(s)

async function sha256Hex(bytes: Uint8Array) {
  return [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))].map((b) => b.toString(16).padStart(2, '0')).join('')
}

function upload(token: string, name: string, bytes: Uint8Array | ReadableStream, contentType = 'application/octet-stream') {
  return call('PUT', `/api/v1/files/${encodeURIComponent(name)}`, { token, raw: bytes, headers: { 'Content-Type': contentType } })
}

async function uploaded(token: string, name: string, bytes: Uint8Array, contentType?: string) {
  const reply = await upload(token, name, bytes, contentType)
  expect(reply.status).toBe(201)
  return reply.body as { id: string; name: string; size_bytes: number; sha256: string; content_type: string }
}

/** A download with its bytes, not decoded as text. */
async function download(token: string, id: string) {
  const res = await SELF.fetch(`${ORIGIN}/api/v1/files/${id}`, { headers: { Authorization: `Bearer ${token}` } })
  return { status: res.status, headers: res.headers, bytes: new Uint8Array(await res.arrayBuffer()) }
}

async function storageUsed(tenantId: string) {
  return (await env.DB.prepare('SELECT storage_used_bytes AS n FROM tenants WHERE id = ?').bind(tenantId).first<{ n: number }>())!.n
}

async function objectKeys(tenantId: string) {
  return (await env.FILES.list({ prefix: `tenants/${tenantId}/` })).objects.map((o) => o.key).sort()
}

async function fileRows(tenantId: string) {
  return (
    await env.DB.prepare('SELECT id, name, size_bytes FROM files WHERE tenant_id = ? ORDER BY id').bind(tenantId).all<{
      id: string
      name: string
      size_bytes: number
    }>()
  ).results
}

type AuditRow = { action: string; outcome: string; category: string; actor_type: string; actor_id: string | null; target_id: string | null; details: string }

async function auditOf(tenantId: string, action: string) {
  return (
    await env.DB.prepare(
      'SELECT action, outcome, category, actor_type, actor_id, target_id, details FROM audit_events WHERE chain = ? AND action = ? ORDER BY seq',
    )
      .bind(tenantId, action)
      .all<AuditRow>()
  ).results
}

async function auditCount(tenantId: string) {
  return (await env.DB.prepare('SELECT count(*) AS n FROM audit_events WHERE chain = ?').bind(tenantId).first<{ n: number }>())!.n
}

async function grantDownload(tenant: TestTenant) {
  const patched = await call('PATCH', `/api/v1/users/${tenant.adminId}`, {
    token: tenant.adminToken,
    body: { permissions: [...ADMIN_DEFAULTS, 'download'] },
  })
  expect(patched.status).toBe(200)
  expect(patched.body.permissions).toEqual(['audit:read', 'download', 'files:read', 'files:write', 'records:read', 'records:write'])
}

describe('file upload', () => {
  it('stores a raw body and answers 201 with the file, its size and the SHA-256 of its bytes', async () => {
    const tenant = await tenantWithAdmin()
    const bytes = text('hello, mamori\n')
    const reply = await upload(tenant.adminToken, 'hello.txt', bytes, 'text/plain; charset=utf-8')
    expect(reply.status).toBe(201)
    expect(reply.body).toEqual({
      id: expect.stringMatching(/^fil_[0-9a-z]{26}$/),
      name: 'hello.txt',
      content_type: 'text/plain; charset=utf-8',
      size_bytes: bytes.byteLength,
      sha256: await sha256Hex(bytes),
      created_at: expect.any(String),
      created_by: tenant.adminId,
    })
    expect(Math.abs(Date.parse(reply.body.created_at) - Date.now())).toBeLessThan(60_000)
  })

  it('keeps the object under tenants/<tenant id>/files/<file id> with the exact bytes and content type', async () => {
    const tenant = await tenantWithAdmin()
    const bytes = new Uint8Array(256).map((_, i) => i)
    const file = await uploaded(tenant.adminToken, 'all-bytes.bin', bytes, 'application/x-test')
    expect(await objectKeys(tenant.id)).toEqual([`tenants/${tenant.id}/files/${file.id}`])
    const object = await env.FILES.get(`tenants/${tenant.id}/files/${file.id}`)
    expect(object).not.toBeNull()
    expect(new Uint8Array(await object!.arrayBuffer())).toEqual(bytes)
    expect(object!.httpMetadata?.contentType).toBe('application/x-test')
    expect(await fileRows(tenant.id)).toEqual([{ id: file.id, name: 'all-bytes.bin', size_bytes: 256 }])
  })

  it('adds exactly the file size to the tenant storage count', async () => {
    const tenant = await tenantWithAdmin()
    const before = await storageUsed(tenant.id)
    await uploaded(tenant.adminToken, 'a.bin', new Uint8Array(1234))
    expect(await storageUsed(tenant.id)).toBe(before + 1234)
    await uploaded(tenant.adminToken, 'b.bin', new Uint8Array(66))
    expect(await storageUsed(tenant.id)).toBe(before + 1300)
  })

  it('audits an upload as file.upload with its name, size and hash', async () => {
    const tenant = await tenantWithAdmin()
    const bytes = text('audited')
    const file = await uploaded(tenant.adminToken, 'audited.txt', bytes)
    const events = await auditOf(tenant.id, 'file.upload')
    expect(events).toEqual([
      {
        action: 'file.upload',
        outcome: 'success',
        category: 'data_change',
        actor_type: 'user',
        actor_id: tenant.adminId,
        target_id: file.id,
        details: expect.any(String),
      },
    ])
    expect(JSON.parse(events[0]!.details)).toEqual({ name: 'audited.txt', size_bytes: 7, sha256: await sha256Hex(bytes) })
  })

  it('replaces a file of the same name with 200: the old object is gone and the count changes by the difference', async () => {
    const tenant = await tenantWithAdmin()
    const first = await uploaded(tenant.adminToken, 'report.csv', new Uint8Array(1000))
    const used = await storageUsed(tenant.id)
    const second = await upload(tenant.adminToken, 'report.csv', text('a,b\n1,2\n'), 'text/csv')
    expect(second.status).toBe(200)
    expect(second.body).toMatchObject({ name: 'report.csv', size_bytes: 8, content_type: 'text/csv', sha256: await sha256Hex(text('a,b\n1,2\n')) })
    expect(second.body.id).not.toBe(first.id)
    expect(await objectKeys(tenant.id)).toEqual([`tenants/${tenant.id}/files/${second.body.id}`])
    expect(await env.FILES.get(`tenants/${tenant.id}/files/${first.id}`)).toBeNull()
    expect(await fileRows(tenant.id)).toEqual([{ id: second.body.id, name: 'report.csv', size_bytes: 8 }])
    expect(await storageUsed(tenant.id)).toBe(used - 1000 + 8)
    const replaced = await auditOf(tenant.id, 'file.replace')
    expect(replaced).toHaveLength(1)
    expect(replaced[0]!.category).toBe('data_change')
    expect(replaced[0]!.target_id).toBe(second.body.id)
    expect(JSON.parse(replaced[0]!.details)).toMatchObject({ replaced: first.id, size_bytes: 8 })
  })

  it('grows the count by the difference when a replacement is larger', async () => {
    const tenant = await tenantWithAdmin()
    await uploaded(tenant.adminToken, 'grow.bin', new Uint8Array(10))
    const used = await storageUsed(tenant.id)
    expect((await upload(tenant.adminToken, 'grow.bin', new Uint8Array(25))).status).toBe(200)
    expect(await storageUsed(tenant.id)).toBe(used + 15)
    expect(await fileRows(tenant.id)).toHaveLength(1)
  })

  it('round-trips a Japanese file name through upload, list and download', async () => {
    const tenant = await tenantWithAdmin()
    await grantDownload(tenant)
    const name = '月次報告書 2026年11月（最終版）.pdf'
    const file = await uploaded(tenant.adminToken, name, text('%PDF-1.7'), 'application/pdf')
    expect(file.name).toBe(name)
    const list = await call('GET', '/api/v1/files', { token: tenant.adminToken })
    expect(list.body.items.map((f: { name: string }) => f.name)).toEqual([name])
    const got = await download(tenant.adminToken, file.id)
    expect(got.status).toBe(200)
    expect(got.headers.get('Content-Disposition')).toBe(`attachment; filename*=UTF-8''${encodeURIComponent(name)}`)
    expect(decodeURIComponent(got.headers.get('Content-Disposition')!.split("UTF-8''")[1]!)).toBe(name)
  })

  it.each([
    ['a slash', 'dir%2Fname.txt'],
    ['a backslash', 'dir%5Cname.txt'],
    ['a newline', 'bad%0Aname.txt'],
    ['a NUL byte', 'bad%00name.txt'],
    ['a DEL character', 'bad%7Fname.txt'],
    ['a tab', 'bad%09name.txt'],
    ['a path traversal', '..%2F..%2Fetc%2Fpasswd'],
  ])('refuses a name with %s with 422 validation and stores nothing', async (_what, encoded) => {
    const tenant = await tenantWithAdmin()
    const reply = await call('PUT', `/api/v1/files/${encoded}`, { token: tenant.adminToken, raw: text('x') })
    const problem = expectProblem(reply, 422, 'validation')
    expect(problem.errors).toEqual([expect.objectContaining({ path: 'param.file' })])
    expect(await objectKeys(tenant.id)).toEqual([])
    expect(await fileRows(tenant.id)).toEqual([])
  })

  it('refuses a name of the shape of a file id with 422 (GET and DELETE would read it as an id) and stores nothing', async () => {
    const tenant = await tenantWithAdmin()
    const existing = await uploaded(tenant.adminToken, 'real.txt', text('real'))
    const before = await fileRows(tenant.id)
    for (const name of [existing.id, `fil_${'0'.repeat(26)}`]) {
      const reply = await call('PUT', `/api/v1/files/${name}`, { token: tenant.adminToken, raw: text('impostor') })
      const problem = expectProblem(reply, 422, 'validation')
      expect(problem.errors).toEqual([{ path: 'param.file', code: 'custom', message: expect.stringContaining('file id') }])
    }
    expect(await fileRows(tenant.id)).toEqual(before)
    expect(await objectKeys(tenant.id)).toEqual([`tenants/${tenant.id}/files/${existing.id}`])
  })

  it('accepts names that only resemble an id: another prefix, upper case, a suffix', async () => {
    const tenant = await tenantWithAdmin()
    for (const name of [`rec_${'0'.repeat(26)}`, `FIL_${'0'.repeat(26)}`, `fil_${'0'.repeat(26)}.txt`]) {
      expect((await upload(tenant.adminToken, name, text('x'))).status).toBe(201)
    }
  })

  it.each([
    ['..', '..'],
    ['%2E%2E', '%2E%2E'],
    ['.', '.'],
    ['%2e', '%2e'],
  ])('refuses the name %s with 404 (the URL normalises it away) and stores nothing', async (_what, encoded) => {
    const tenant = await tenantWithAdmin()
    const reply = await call('PUT', `/api/v1/files/${encoded}`, { token: tenant.adminToken, raw: text('x') })
    expectProblem(reply, 404, 'not-found')
    expect(await objectKeys(tenant.id)).toEqual([])
    expect(await fileRows(tenant.id)).toEqual([])
    expect(await storageUsed(tenant.id)).toBe(0)
  })

  it('refuses a name longer than 255 characters with 422 validation', async () => {
    const tenant = await tenantWithAdmin()
    const reply = await upload(tenant.adminToken, 'a'.repeat(256), text('x'))
    expectProblem(reply, 422, 'validation')
    expect(await fileRows(tenant.id)).toEqual([])
  })

  it('answers an upload without Content-Length (a streamed body) with 411 length-required and stores nothing', async () => {
    const tenant = await tenantWithAdmin()
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(text('streamed without a length'))
        controller.close()
      },
    })
    const reply = await upload(tenant.adminToken, 'stream.txt', stream)
    expectProblem(reply, 411, 'length-required')
    expect(await objectKeys(tenant.id)).toEqual([])
    expect(await fileRows(tenant.id)).toEqual([])
    expect(await storageUsed(tenant.id)).toBe(0)
  })

  it('answers an upload over 25 MiB with 413 payload-too-large and stores nothing', async () => {
    const tenant = await tenantWithAdmin()
    const reply = await upload(tenant.adminToken, 'huge.bin', new Uint8Array(25 * MiB + 1))
    const problem = expectProblem(reply, 413, 'payload-too-large')
    expect(problem.max_bytes).toBe(25 * MiB)
    expect(await objectKeys(tenant.id)).toEqual([])
    expect(await fileRows(tenant.id)).toEqual([])
    expect(await storageUsed(tenant.id)).toBe(0)
  })

  it.each([
    ['longer', 5, 10],
    ['shorter', 10, 5],
  ])('answers a body %s than its Content-Length with 400 length-mismatch and stores nothing', async (_what, declared, actual) => {
    const tenant = await tenantWithAdmin()
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new Uint8Array(actual))
        controller.close()
      },
    })
    const reply = await call('PUT', '/api/v1/files/liar.bin', { token: tenant.adminToken, raw: stream, headers: { 'Content-Length': String(declared) } })
    expectProblem(reply, 400, 'length-mismatch')
    expect(await objectKeys(tenant.id)).toEqual([])
    expect(await fileRows(tenant.id)).toEqual([])
    expect(await storageUsed(tenant.id)).toBe(0)
    expect(await auditOf(tenant.id, 'file.upload')).toEqual([])
  })

  it('accepts a 2 MiB file, beyond the 1 MiB limit of JSON bodies', async () => {
    const tenant = await tenantWithAdmin()
    const bytes = new Uint8Array(2 * MiB).map((_, i) => (i * 31) % 251)
    const file = await uploaded(tenant.adminToken, 'big.bin', bytes)
    expect(file.size_bytes).toBe(2 * MiB)
    expect(file.sha256).toBe(await sha256Hex(bytes))
    const object = await env.FILES.get(`tenants/${tenant.id}/files/${file.id}`)
    expect(new Uint8Array(await object!.arrayBuffer())).toEqual(bytes)
    expect(await storageUsed(tenant.id)).toBe(2 * MiB)
  })

  it('accepts an empty file', async () => {
    const tenant = await tenantWithAdmin()
    const file = await uploaded(tenant.adminToken, 'empty.txt', new Uint8Array(0))
    expect(file).toMatchObject({ size_bytes: 0, sha256: await sha256Hex(new Uint8Array(0)) })
    expect(await objectKeys(tenant.id)).toEqual([`tenants/${tenant.id}/files/${file.id}`])
  })
})

describe('storage quota (EX-4)', () => {
  it('refuses an upload that would exceed the plan quota with 413 quota-exceeded and stores nothing', async () => {
    const tenant = await tenantWithAdmin('free')
    await env.DB.prepare('UPDATE tenants SET storage_used_bytes = ? WHERE id = ?').bind(FREE_QUOTA - 10, tenant.id).run()
    const events = await auditCount(tenant.id)
    const reply = await upload(tenant.adminToken, 'one-too-many.bin', new Uint8Array(11))
    const problem = expectProblem(reply, 413, 'quota-exceeded')
    expect(problem).toMatchObject({ quota_bytes: FREE_QUOTA, used_bytes: FREE_QUOTA - 10 })
    expect(await objectKeys(tenant.id)).toEqual([])
    expect(await fileRows(tenant.id)).toEqual([])
    expect(await storageUsed(tenant.id)).toBe(FREE_QUOTA - 10)
    expect(await auditCount(tenant.id)).toBe(events)
  })

  it('accepts an upload that fills the quota exactly', async () => {
    const tenant = await tenantWithAdmin('free')
    await env.DB.prepare('UPDATE tenants SET storage_used_bytes = ? WHERE id = ?').bind(FREE_QUOTA - 10, tenant.id).run()
    await uploaded(tenant.adminToken, 'exact.bin', new Uint8Array(10))
    expect(await storageUsed(tenant.id)).toBe(FREE_QUOTA)
    expectProblem(await upload(tenant.adminToken, 'one-more.bin', new Uint8Array(1)), 413, 'quota-exceeded')
  })

  it('counts a replacement by its difference, so a smaller replacement fits a full quota', async () => {
    const tenant = await tenantWithAdmin('free')
    await uploaded(tenant.adminToken, 'swap.bin', new Uint8Array(100))
    await env.DB.prepare('UPDATE tenants SET storage_used_bytes = ? WHERE id = ?').bind(FREE_QUOTA, tenant.id).run()
    expect((await upload(tenant.adminToken, 'swap.bin', new Uint8Array(60))).status).toBe(200)
    expect(await storageUsed(tenant.id)).toBe(FREE_QUOTA - 40)
    expectProblem(await upload(tenant.adminToken, 'swap.bin', new Uint8Array(101)), 413, 'quota-exceeded')
    expect(await fileRows(tenant.id)).toEqual([expect.objectContaining({ name: 'swap.bin', size_bytes: 60 })])
    expect(await objectKeys(tenant.id)).toHaveLength(1)
    expect(await storageUsed(tenant.id)).toBe(FREE_QUOTA - 40)
  })

  it('keeps the storage count equal to the stored bytes when a file is deleted while its replacement uploads', async () => {
    // A replacement looks up the file it replaces, then streams its body; a delete of that
    // file that commits in between must not be subtracted twice from the tenant's count.
    const tenant = await tenantWithAdmin()
    const old = await uploaded(tenant.adminToken, 'race.bin', new Uint8Array(1000))
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await gate
        controller.enqueue(new Uint8Array(10))
        controller.close()
      },
    })
    const replacing = call('PUT', '/api/v1/files/race.bin', { token: tenant.adminToken, raw: body, headers: { 'Content-Length': '10' } })
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect((await call('DELETE', `/api/v1/files/${old.id}`, { token: tenant.adminToken })).status).toBe(204)
    release()
    const replaced = await replacing
    expect([200, 201, 409]).toContain(replaced.status)
    const rows = await fileRows(tenant.id)
    const stored = rows.reduce((sum, r) => sum + r.size_bytes, 0)
    expect(await storageUsed(tenant.id)).toBe(stored)
    expect(await objectKeys(tenant.id)).toEqual(rows.map((r) => `tenants/${tenant.id}/files/${r.id}`))
  })

  it('frees quota on delete so the next upload fits again', async () => {
    const tenant = await tenantWithAdmin('free')
    const file = await uploaded(tenant.adminToken, 'space.bin', new Uint8Array(50))
    await env.DB.prepare('UPDATE tenants SET storage_used_bytes = ? WHERE id = ?').bind(FREE_QUOTA, tenant.id).run()
    expectProblem(await upload(tenant.adminToken, 'other.bin', new Uint8Array(50)), 413, 'quota-exceeded')
    expect((await call('DELETE', `/api/v1/files/${file.id}`, { token: tenant.adminToken })).status).toBe(204)
    expect((await upload(tenant.adminToken, 'other.bin', new Uint8Array(50))).status).toBe(201)
    expect(await storageUsed(tenant.id)).toBe(FREE_QUOTA)
  })
})

describe('file list and download', () => {
  it('lists files newest first, in pages of metadata', async () => {
    const tenant = await tenantWithAdmin()
    const made = []
    for (let i = 0; i < 5; i++) made.push(await uploaded(tenant.adminToken, `f${i}.txt`, text(`file ${i}`)))
    const first = await call('GET', '/api/v1/files?limit=2', { token: tenant.adminToken })
    expect(first.status).toBe(200)
    expect(first.body.items).toEqual([made[4], made[3]].map((f) => ({ ...f, created_at: expect.any(String), created_by: tenant.adminId })))
    const second = await call('GET', `/api/v1/files?limit=2&cursor=${first.body.next_cursor}`, { token: tenant.adminToken })
    expect(second.body.items.map((f: { id: string }) => f.id)).toEqual([made[2]!.id, made[1]!.id])
    const third = await call('GET', `/api/v1/files?limit=2&cursor=${second.body.next_cursor}`, { token: tenant.adminToken })
    expect(third.body).toEqual({ items: [made[0]], next_cursor: null })
  })

  it('answers an invalid list cursor with 422 validation', async () => {
    const tenant = await tenantWithAdmin()
    expectProblem(await call('GET', '/api/v1/files?cursor=not-a-cursor', { token: tenant.adminToken }), 422, 'validation')
  })

  it('refuses a download to an admin without the download permission with 403 and audits nothing', async () => {
    const tenant = await tenantWithAdmin()
    const file = await uploaded(tenant.adminToken, 'secret.txt', text('secret'))
    const reply = await call('GET', `/api/v1/files/${file.id}`, { token: tenant.adminToken })
    expectProblem(reply, 403, 'forbidden')
    expect(reply.body.detail).toContain('download')
    expect(await auditOf(tenant.id, 'file.download')).toEqual([])
  })

  it('serves the exact bytes as an attachment once download is granted, keeping the uploaded type in the metadata', async () => {
    const tenant = await tenantWithAdmin()
    await grantDownload(tenant)
    const bytes = new Uint8Array(300).map((_, i) => (i * 7) % 256)
    const file = await uploaded(tenant.adminToken, 'data.bin', bytes, 'application/vnd.mamori.test')
    expect(file.content_type).toBe('application/vnd.mamori.test')
    const got = await download(tenant.adminToken, file.id)
    expect(got.status).toBe(200)
    expect(got.bytes).toEqual(bytes)
    expect(got.headers.get('Content-Type')).toBe('application/octet-stream')
    expect(got.headers.get('Content-Disposition')).toBe("attachment; filename*=UTF-8''data.bin")
    expect(got.headers.get('Content-Length')).toBe('300')
    expect(got.headers.get('Cache-Control')).toBe('no-store')
  })

  it.each([
    ['text/javascript', 'evil.js', 'fetch("/api/v1/users").then((r) => r.text()).then(alert)'],
    ['text/html; charset=utf-8', 'page.html', '<!doctype html><script>alert(document.cookie)</script>'],
    ['image/svg+xml', 'image.svg', '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'],
  ])('never serves an upload declared %s as that type: octet-stream attachment, nosniff, sandboxed', async (type, name, content) => {
    const tenant = await tenantWithAdmin()
    await grantDownload(tenant)
    const file = await uploaded(tenant.adminToken, name, text(content), type)
    for (const method of ['GET', 'HEAD']) {
      const res = await SELF.fetch(`${ORIGIN}/api/v1/files/${file.id}`, { method, headers: { Authorization: `Bearer ${tenant.adminToken}` } })
      expect(res.status).toBe(200)
      expect(res.headers.get('Content-Type')).toBe('application/octet-stream')
      expect(res.headers.get('Content-Disposition')).toBe(`attachment; filename*=UTF-8''${name}`)
      expect(res.headers.get('X-Content-Type-Options')).toBe('nosniff')
      expect(res.headers.get('Content-Security-Policy')).toBe('sandbox')
      expect(await res.text()).toBe(method === 'GET' ? content : '')
    }
  })

  it('keeps the strict default Content-Security-Policy on every other answer of the files routes', async () => {
    const tenant = await tenantWithAdmin()
    const list = await call('GET', '/api/v1/files', { token: tenant.adminToken })
    expect(list.headers.get('Content-Security-Policy')).toContain("default-src 'none'")
    const missing = await call('GET', `/api/v1/files/fil_${'0'.repeat(26)}`, { token: tenant.adminToken })
    expect(missing.headers.get('Content-Security-Policy')).toContain("default-src 'none'")
  })

  it('answers HEAD with the download headers but no content, and records no data extraction', async () => {
    const tenant = await tenantWithAdmin()
    await grantDownload(tenant)
    const file = await uploaded(tenant.adminToken, "Bob's (v2).txt", text('head only'))
    const res = await SELF.fetch(`${ORIGIN}/api/v1/files/${file.id}`, { method: 'HEAD', headers: { Authorization: `Bearer ${tenant.adminToken}` } })
    expect(res.status).toBe(200)
    expect(res.headers.get('Content-Length')).toBe('9')
    expect(res.headers.get('Content-Disposition')).toBe("attachment; filename*=UTF-8''Bob%27s%20%28v2%29.txt")
    expect(await res.text()).toBe('')
    expect(await auditOf(tenant.id, 'file.download')).toEqual([])
  })

  it('audits a download as file.download in the data_extraction category', async () => {
    const tenant = await tenantWithAdmin()
    await grantDownload(tenant)
    const file = await uploaded(tenant.adminToken, 'extract.txt', text('extract me'))
    expect((await download(tenant.adminToken, file.id)).status).toBe(200)
    const events = await auditOf(tenant.id, 'file.download')
    expect(events).toEqual([
      {
        action: 'file.download',
        outcome: 'success',
        category: 'data_extraction',
        actor_type: 'user',
        actor_id: tenant.adminId,
        target_id: file.id,
        details: JSON.stringify({ name: 'extract.txt', size_bytes: 10 }),
      },
    ])
  })

  it('lets the admin find downloads with GET /api/v1/audit?category=data_extraction (GE-5)', async () => {
    const tenant = await tenantWithAdmin()
    await grantDownload(tenant)
    const file = await uploaded(tenant.adminToken, 'evidence.txt', text('evidence'))
    await download(tenant.adminToken, file.id)
    await download(tenant.adminToken, file.id)
    const found = await call('GET', '/api/v1/audit?category=data_extraction', { token: tenant.adminToken })
    expect(found.status).toBe(200)
    expect(found.body.next_cursor).toBeNull()
    expect(found.body.items).toEqual([
      expect.objectContaining({ tenant_id: tenant.id, action: 'file.download', category: 'data_extraction', actor_id: tenant.adminId, target_id: file.id, outcome: 'success' }),
      expect.objectContaining({ tenant_id: tenant.id, action: 'file.download', category: 'data_extraction', actor_id: tenant.adminId, target_id: file.id, outcome: 'success' }),
    ])
    expect(found.body.items[0].details).toEqual({ name: 'evidence.txt', size_bytes: 8 })
  })

  it('answers a download of an unknown or malformed id with 404 not-found and audits nothing', async () => {
    const tenant = await tenantWithAdmin()
    await grantDownload(tenant)
    expectProblem(await call('GET', '/api/v1/files/fil_00000000000000000000000000', { token: tenant.adminToken }), 404, 'not-found')
    expectProblem(await call('GET', '/api/v1/files/not-an-id', { token: tenant.adminToken }), 404, 'not-found')
    expect(await auditOf(tenant.id, 'file.download')).toEqual([])
  })
})

describe('file delete (SE-36)', () => {
  it('deletes with 204: the object, the row and the counted bytes are gone at once', async () => {
    const tenant = await tenantWithAdmin()
    const keep = await uploaded(tenant.adminToken, 'keep.bin', new Uint8Array(7))
    const file = await uploaded(tenant.adminToken, 'doomed.bin', new Uint8Array(500))
    const used = await storageUsed(tenant.id)
    const reply = await call('DELETE', `/api/v1/files/${file.id}`, { token: tenant.adminToken })
    expect(reply.status).toBe(204)
    expect(reply.body).toBe('')
    expect(await env.FILES.get(`tenants/${tenant.id}/files/${file.id}`)).toBeNull()
    expect(await objectKeys(tenant.id)).toEqual([`tenants/${tenant.id}/files/${keep.id}`])
    expect(await fileRows(tenant.id)).toEqual([{ id: keep.id, name: 'keep.bin', size_bytes: 7 }])
    expect(await storageUsed(tenant.id)).toBe(used - 500)
    const list = await call('GET', '/api/v1/files', { token: tenant.adminToken })
    expect(list.body.items.map((f: { id: string }) => f.id)).toEqual([keep.id])
  })

  it('audits a delete as file.delete', async () => {
    const tenant = await tenantWithAdmin()
    const file = await uploaded(tenant.adminToken, 'audit-me.bin', new Uint8Array(3))
    await call('DELETE', `/api/v1/files/${file.id}`, { token: tenant.adminToken })
    expect(await auditOf(tenant.id, 'file.delete')).toEqual([
      expect.objectContaining({ outcome: 'success', category: 'data_change', actor_id: tenant.adminId, target_id: file.id, details: JSON.stringify({ name: 'audit-me.bin', size_bytes: 3 }) }),
    ])
  })

  it('answers a second delete with 404 not-found and changes nothing', async () => {
    const tenant = await tenantWithAdmin()
    const file = await uploaded(tenant.adminToken, 'twice.bin', new Uint8Array(40))
    expect((await call('DELETE', `/api/v1/files/${file.id}`, { token: tenant.adminToken })).status).toBe(204)
    const used = await storageUsed(tenant.id)
    const events = await auditCount(tenant.id)
    expectProblem(await call('DELETE', `/api/v1/files/${file.id}`, { token: tenant.adminToken }), 404, 'not-found')
    expect(await storageUsed(tenant.id)).toBe(used)
    expect(await auditCount(tenant.id)).toBe(events)
  })

  it('lets a name be reused after delete', async () => {
    const tenant = await tenantWithAdmin()
    const file = await uploaded(tenant.adminToken, 'again.txt', text('one'))
    await call('DELETE', `/api/v1/files/${file.id}`, { token: tenant.adminToken })
    const again = await upload(tenant.adminToken, 'again.txt', text('two!'))
    expect(again.status).toBe(201)
    expect(await storageUsed(tenant.id)).toBe(4)
  })
})

describe('member file permissions', () => {
  it('gives members files:read and files:write by default but not download', async () => {
    const tenant = await tenantWithAdmin()
    const member = await userOf(tenant, 'member')
    const account = await call('GET', `/api/v1/users/${member.id}`, { token: tenant.adminToken })
    expect(account.body.permissions).toEqual(MEMBER_DEFAULTS)
  })

  it('lets a member upload, list and delete files', async () => {
    const tenant = await tenantWithAdmin()
    const member = await userOf(tenant, 'member')
    const file = await uploaded(member.token, 'member.txt', text('mine'))
    expect(file).toMatchObject({ created_by: member.id })
    const list = await call('GET', '/api/v1/files', { token: member.token })
    expect(list.status).toBe(200)
    expect(list.body.items.map((f: { id: string }) => f.id)).toEqual([file.id])
    expect((await call('DELETE', `/api/v1/files/${file.id}`, { token: member.token })).status).toBe(204)
  })

  it('refuses a member\u2019s download with 403 forbidden', async () => {
    const tenant = await tenantWithAdmin()
    const member = await userOf(tenant, 'member')
    const file = await uploaded(tenant.adminToken, 'not-for-members.txt', text('x'))
    expectProblem(await call('GET', `/api/v1/files/${file.id}`, { token: member.token }), 403, 'forbidden')
    expect(await auditOf(tenant.id, 'file.download')).toEqual([])
  })

  it('lets a member download once download is granted to the account', async () => {
    const tenant = await tenantWithAdmin()
    const member = await userOf(tenant, 'member', [...MEMBER_DEFAULTS, 'download'])
    const file = await uploaded(tenant.adminToken, 'granted.txt', text('granted'))
    const got = await download(member.token, file.id)
    expect(got.status).toBe(200)
    expect(new TextDecoder().decode(got.bytes)).toBe('granted')
    expect(await auditOf(tenant.id, 'file.download')).toEqual([expect.objectContaining({ actor_id: member.id, category: 'data_extraction' })])
  })

  it('refuses a member without files:write an upload with 403 and stores nothing', async () => {
    const tenant = await tenantWithAdmin()
    const reader = await userOf(tenant, 'member', ['files:read'])
    expectProblem(await upload(reader.token, 'nope.txt', text('nope')), 403, 'forbidden')
    expect(await objectKeys(tenant.id)).toEqual([])
    expect(await fileRows(tenant.id)).toEqual([])
  })

  it('refuses a member without files:read the list with 403', async () => {
    const tenant = await tenantWithAdmin()
    const recordsOnly = await userOf(tenant, 'member', ['records:read'])
    expectProblem(await call('GET', '/api/v1/files', { token: recordsOnly.token }), 403, 'forbidden')
  })
})

// ---------------------------------------------------------------------------
// Support access (SE-26)

async function supportRead(tenantId: string, what: 'records' | 'files', query = '') {
  return call('GET', `/ops/v1/tenants/${tenantId}/${what}${query}`, { token: await operator() })
}

async function grant(tenant: TestTenant, hours = 2) {
  const reply = await call('POST', '/api/v1/support-access', { token: tenant.adminToken, body: { hours } })
  expect(reply.status).toBe(200)
  return reply
}

async function operatorId() {
  await operator()
  return (await env.DB.prepare('SELECT id FROM operators LIMIT 1').first<{ id: string }>())!.id
}

function expectSupportRefused(reply: Reply) {
  const problem = expectProblem(reply, 403, 'support-access-required')
  expect(problem.title).toBe('Forbidden')
}

describe('support access (SE-26)', () => {
  it('refuses an operator the records and files of a tenant that granted nothing with 403 support-access-required', async () => {
    const tenant = await tenantWithAdmin()
    await call('POST', '/api/v1/records', { token: tenant.adminToken, body: { collection: 'c', data: { secret: true } } })
    await uploaded(tenant.adminToken, 'private.txt', text('private'))
    const records = await supportRead(tenant.id, 'records')
    expectSupportRefused(records)
    expect(JSON.stringify(records.body)).not.toContain('secret')
    const files = await supportRead(tenant.id, 'files')
    expectSupportRefused(files)
    expect(JSON.stringify(files.body)).not.toContain('private.txt')
  })

  it('records each refused operator read as a denied support.read in the tenant\u2019s own audit chain', async () => {
    const tenant = await tenantWithAdmin()
    await supportRead(tenant.id, 'records')
    await supportRead(tenant.id, 'files')
    const events = await auditOf(tenant.id, 'support.read')
    const opId = await operatorId()
    expect(events.map((e) => ({ ...e, details: JSON.parse(e.details) }))).toEqual([
      { action: 'support.read', outcome: 'denied', category: 'data_extraction', actor_type: 'operator', actor_id: opId, target_id: tenant.id, details: { what: 'records' } },
      { action: 'support.read', outcome: 'denied', category: 'data_extraction', actor_type: 'operator', actor_id: opId, target_id: tenant.id, details: { what: 'files' } },
    ])
    const visible = await call('GET', '/api/v1/audit?action=support.read', { token: tenant.adminToken })
    expect(visible.body.items.map((e: { outcome: string }) => e.outcome)).toEqual(['denied', 'denied'])
  })

  it('answers an unknown tenant id with 404 not-found', async () => {
    expectProblem(await supportRead('tn_00000000000000000000000000', 'records'), 404, 'not-found')
    expectProblem(await supportRead('tn_00000000000000000000000000', 'files'), 404, 'not-found')
    expectProblem(await supportRead('nonsense', 'records'), 404, 'not-found')
  })

  it('refuses the support view to a tenant admin\u2019s session with 401: it is for operators only', async () => {
    const tenant = await tenantWithAdmin()
    await grant(tenant)
    expectProblem(await call('GET', `/ops/v1/tenants/${tenant.id}/records`, { token: tenant.adminToken }), 401, 'unauthenticated')
    expectProblem(await call('GET', `/ops/v1/tenants/${tenant.id}/files`, { token: tenant.adminToken }), 401, 'unauthenticated')
    expect(await auditOf(tenant.id, 'support.read')).toEqual([])
  })

  it('grants support access for 2 hours: 200 with who granted it, when, and until when', async () => {
    const tenant = await tenantWithAdmin()
    const before = Date.now()
    const reply = await grant(tenant, 2)
    expect(reply.body).toEqual({ granted: true, granted_by: tenant.adminId, granted_at: expect.any(String), expires_at: expect.any(String) })
    const grantedAt = Date.parse(reply.body.granted_at)
    expect(Math.abs(grantedAt - before)).toBeLessThan(60_000)
    expect(Date.parse(reply.body.expires_at) - grantedAt).toBe(2 * 3600_000)
    const row = await env.DB.prepare('SELECT granted_by, expires_at FROM support_grants WHERE tenant_id = ?').bind(tenant.id).first()
    expect(row).toEqual({ granted_by: tenant.adminId, expires_at: reply.body.expires_at })
    const events = await auditOf(tenant.id, 'support.grant')
    expect(events).toEqual([expect.objectContaining({ outcome: 'success', actor_id: tenant.adminId, target_id: tenant.id })])
    expect(JSON.parse(events[0]!.details)).toEqual({ hours: 2, expires_at: reply.body.expires_at })
  })

  it.each([
    ['0', 0],
    ['73', 73],
    ['1.5', 1.5],
    ['-1', -1],
    ['"2"', '2'],
  ])('refuses hours %s with 422 validation and grants nothing', async (_label, hours) => {
    const tenant = await tenantWithAdmin()
    const reply = await call('POST', '/api/v1/support-access', { token: tenant.adminToken, body: { hours } })
    const problem = expectProblem(reply, 422, 'validation')
    expect(problem.errors).toEqual([expect.objectContaining({ path: 'body.hours' })])
    expect(await env.DB.prepare('SELECT count(*) AS n FROM support_grants WHERE tenant_id = ?').bind(tenant.id).first('n')).toBe(0)
  })

  it('accepts the maximum of 72 hours', async () => {
    const tenant = await tenantWithAdmin()
    const reply = await grant(tenant, 72)
    expect(Date.parse(reply.body.expires_at) - Date.parse(reply.body.granted_at)).toBe(72 * 3600_000)
  })

  it('refuses a member to grant, see or end support access with 403', async () => {
    const tenant = await tenantWithAdmin()
    const member = await userOf(tenant, 'member')
    expectProblem(await call('POST', '/api/v1/support-access', { token: member.token, body: { hours: 2 } }), 403, 'forbidden')
    expectProblem(await call('GET', '/api/v1/support-access', { token: member.token }), 403, 'forbidden')
    expectProblem(await call('DELETE', '/api/v1/support-access', { token: member.token }), 403, 'forbidden')
    expect(await env.DB.prepare('SELECT count(*) AS n FROM support_grants WHERE tenant_id = ?').bind(tenant.id).first('n')).toBe(0)
  })

  it('lets the operator read the tenant\u2019s records and files while granted: the same items the tenant sees', async () => {
    const tenant = await tenantWithAdmin()
    for (let i = 0; i < 3; i++) {
      expect((await call('POST', '/api/v1/records', { token: tenant.adminToken, body: { collection: 'support', data: { i } } })).status).toBe(201)
    }
    await uploaded(tenant.adminToken, 'one.txt', text('1'))
    await uploaded(tenant.adminToken, 'two.txt', text('22'))
    await grant(tenant)
    const records = await supportRead(tenant.id, 'records')
    expect(records.status).toBe(200)
    expect(records.body).toEqual((await call('GET', '/api/v1/records', { token: tenant.adminToken })).body)
    expect(records.body.items).toHaveLength(3)
    const files = await supportRead(tenant.id, 'files')
    expect(files.status).toBe(200)
    expect(files.body).toEqual((await call('GET', '/api/v1/files', { token: tenant.adminToken })).body)
    expect(files.body.items.map((f: { name: string }) => f.name)).toEqual(['two.txt', 'one.txt'])
  })

  it('pages the support view like the tenant\u2019s own lists', async () => {
    const tenant = await tenantWithAdmin()
    for (let i = 0; i < 3; i++) await call('POST', '/api/v1/records', { token: tenant.adminToken, body: { collection: 'p', data: { i } } })
    await grant(tenant)
    const first = await supportRead(tenant.id, 'records', '?limit=2')
    expect(first.body.items).toHaveLength(2)
    expect(first.body).toEqual((await call('GET', '/api/v1/records?limit=2', { token: tenant.adminToken })).body)
    const second = await supportRead(tenant.id, 'records', `?limit=2&cursor=${first.body.next_cursor}`)
    expect(second.body.items).toHaveLength(1)
    expect(second.body.next_cursor).toBeNull()
  })

  it('records each granted operator read as a successful support.read by the operator in the tenant\u2019s chain', async () => {
    const tenant = await tenantWithAdmin()
    const granted = await grant(tenant)
    await supportRead(tenant.id, 'records')
    await supportRead(tenant.id, 'files')
    const opId = await operatorId()
    const events = await auditOf(tenant.id, 'support.read')
    expect(events.map((e) => ({ ...e, details: JSON.parse(e.details) }))).toEqual([
      {
        action: 'support.read', outcome: 'success', category: 'data_extraction', actor_type: 'operator', actor_id: opId, target_id: tenant.id,
        details: { what: 'records', grant_expires_at: granted.body.expires_at },
      },
      {
        action: 'support.read', outcome: 'success', category: 'data_extraction', actor_type: 'operator', actor_id: opId, target_id: tenant.id,
        details: { what: 'files', grant_expires_at: granted.body.expires_at },
      },
    ])
    const platform = await env.DB.prepare("SELECT count(*) AS n FROM audit_events WHERE chain = 'platform' AND action = 'support.read'").first('n')
    expect(platform).toBe(0)
  })

  it('shows the grant in force with GET /api/v1/support-access, and none before', async () => {
    const tenant = await tenantWithAdmin()
    const none = await call('GET', '/api/v1/support-access', { token: tenant.adminToken })
    expect(none.status).toBe(200)
    expect(none.body).toEqual({ granted: false, granted_by: null, granted_at: null, expires_at: null })
    const granted = await grant(tenant, 5)
    const shown = await call('GET', '/api/v1/support-access', { token: tenant.adminToken })
    expect(shown.body).toEqual(granted.body)
  })

  it('replaces an earlier grant with a new one', async () => {
    const tenant = await tenantWithAdmin()
    await grant(tenant, 1)
    const second = await grant(tenant, 10)
    expect(Date.parse(second.body.expires_at) - Date.parse(second.body.granted_at)).toBe(10 * 3600_000)
    expect((await call('GET', '/api/v1/support-access', { token: tenant.adminToken })).body).toEqual(second.body)
    expect(await env.DB.prepare('SELECT count(*) AS n FROM support_grants WHERE tenant_id = ?').bind(tenant.id).first('n')).toBe(1)
  })

  it('ends support access at once with DELETE: the next operator read is refused', async () => {
    const tenant = await tenantWithAdmin()
    await grant(tenant)
    expect((await supportRead(tenant.id, 'records')).status).toBe(200)
    const revoked = await call('DELETE', '/api/v1/support-access', { token: tenant.adminToken })
    expect(revoked.status).toBe(204)
    expectSupportRefused(await supportRead(tenant.id, 'records'))
    expectSupportRefused(await supportRead(tenant.id, 'files'))
    expect((await call('GET', '/api/v1/support-access', { token: tenant.adminToken })).body).toEqual({
      granted: false,
      granted_by: null,
      granted_at: null,
      expires_at: null,
    })
    expect(await auditOf(tenant.id, 'support.revoke')).toEqual([expect.objectContaining({ outcome: 'success', actor_id: tenant.adminId })])
    expect((await auditOf(tenant.id, 'support.read')).map((e) => e.outcome)).toEqual(['success', 'denied', 'denied'])
  })

  it('refuses operator reads once the grant has expired', async () => {
    const tenant = await tenantWithAdmin()
    await grant(tenant)
    const past = new Date(Date.now() - 1000).toISOString()
    await env.DB.prepare('UPDATE support_grants SET expires_at = ? WHERE tenant_id = ?').bind(past, tenant.id).run()
    expectSupportRefused(await supportRead(tenant.id, 'records'))
    expectSupportRefused(await supportRead(tenant.id, 'files'))
    expect((await call('GET', '/api/v1/support-access', { token: tenant.adminToken })).body.granted).toBe(false)
    expect((await auditOf(tenant.id, 'support.read')).map((e) => e.outcome)).toEqual(['denied', 'denied'])
  })

  it('gives no access to tenant B through a grant of tenant A', async () => {
    const a = await tenantWithAdmin()
    const b = await tenantWithAdmin()
    await call('POST', '/api/v1/records', { token: b.adminToken, body: { collection: 'b', data: { owner: 'b' } } })
    await uploaded(b.adminToken, 'b-only.txt', text('b'))
    await grant(a)
    expect((await supportRead(a.id, 'records')).status).toBe(200)
    const records = await supportRead(b.id, 'records')
    expectSupportRefused(records)
    expect(JSON.stringify(records.body)).not.toContain('owner')
    expectSupportRefused(await supportRead(b.id, 'files'))
    expect((await auditOf(b.id, 'support.read')).map((e) => e.outcome)).toEqual(['denied', 'denied'])
    expect((await auditOf(a.id, 'support.read')).map((e) => e.outcome)).toEqual(['success'])
  })
})
