import { SELF } from 'cloudflare:test'
import { expect, it } from 'vitest'

it('answers liveness', async () => {
  const res = await SELF.fetch('http://x/health/live')
  expect(res.status).toBe(200)
  expect(await res.json()).toEqual({ status: 'ok' })
})

it('answers readiness', async () => {
  const res = await SELF.fetch('http://x/health/ready')
  console.log(await res.text())
})
