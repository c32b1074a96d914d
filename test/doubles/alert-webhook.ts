/**
 * The operators' alert webhook, as a test double: every outbound fetch of the
 * Worker under test lands here (vitest.config.ts `outboundService`), runs in
 * the vitest process and answers like a small receiving server would.
 *
 * - `POST <any path>`: a delivery. Recorded (path, headers, body) and answered
 *   204, or with the status scripted for the delivery's tenant.
 * - `POST /__double/script` `{tenant, fail, status}`: the next `fail`
 *   deliveries for `tenant` (a tenant id, or "platform") answer `status`.
 * - `GET /__double/received?tenant=<id>`: the deliveries recorded for a tenant.
 *
 * Deliveries are keyed by the tenant in their body, so suites running side by
 * side (each with tenants of its own) never see each other's.
 */
export type Delivery = { path: string; headers: Record<string, string>; body: string; status: number }

const received = new Map<string, Delivery[]>()
const scripted = new Map<string, { fail: number; status: number }>()

function tenantOf(body: string): string {
  try {
    const parsed = JSON.parse(body) as { tenant?: { id?: string } | null }
    return parsed.tenant?.id ?? 'platform'
  } catch {
    return 'unparsable'
  }
}

export async function alertWebhookDouble(request: Request): Promise<Response> {
  const url = new URL(request.url)
  if (url.pathname === '/__double/script' && request.method === 'POST') {
    const { tenant, fail, status } = (await request.json()) as { tenant: string; fail: number; status: number }
    scripted.set(tenant, { fail, status })
    return Response.json({ ok: true })
  }
  if (url.pathname === '/__double/received') {
    return Response.json(received.get(url.searchParams.get('tenant') ?? 'platform') ?? [])
  }
  if (request.method !== 'POST') return new Response('not here', { status: 404 })
  const body = await request.text()
  const tenant = tenantOf(body)
  const script = scripted.get(tenant)
  const status = script && script.fail > 0 ? script.status : 204
  if (script && script.fail > 0) script.fail -= 1
  const list = received.get(tenant) ?? []
  list.push({ path: url.pathname, headers: Object.fromEntries(request.headers), body, status })
  received.set(tenant, list)
  return new Response(status === 204 ? null : 'scripted failure', { status })
}
