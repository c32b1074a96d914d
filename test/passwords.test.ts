import { scryptSync } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { toBase64Url } from '../src/lib/encoding'
import { Semaphore } from '../src/lib/semaphore'
import { currentHashParams, dummyHash, hashPassword, temporaryPassword, verifyPassword } from '../src/services/passwords/passwords'

describe('password hashes', () => {
  it('stores the algorithm and its parameters with every hash', async () => {
    const hash = await hashPassword('correct horse battery staple')
    // This suite runs in the production-hash project (vitest.config.ts).
    expect(hash).toMatch(/^scrypt\$ln=15,r=8,p=2\$[\w-]{22}\$[\w-]{43}$/)
    expect(await hashPassword('correct horse battery staple')).not.toBe(hash)
  })

  it('verifies the right password and refuses a wrong one', async () => {
    const hash = await hashPassword('correct horse battery staple')
    expect(await verifyPassword('correct horse battery staple', hash)).toEqual({ ok: true, needsRehash: false })
    expect(await verifyPassword('correct horse battery stapl', hash)).toEqual({ ok: false, needsRehash: false })
  })

  it('treats full-width and half-width input alike (NFKC)', async () => {
    const hash = await hashPassword('password-2026')
    expect((await verifyPassword('ｐａｓｓｗｏｒｄ－２０２６', hash)).ok).toBe(true)
  })

  it('flags hashes made with older parameters for re-hashing', async () => {
    const salt = new Uint8Array(16).fill(7)
    const key = scryptSync('old-password', salt, 32, { N: 2 ** 10, r: 8, p: 1 })
    const old = `scrypt$ln=10,r=8,p=1$${toBase64Url(salt)}$${toBase64Url(new Uint8Array(key))}`
    expect(await verifyPassword('old-password', old)).toEqual({ ok: true, needsRehash: true })
  })

  it('never matches an unreadable hash or the dummy hash', async () => {
    expect((await verifyPassword('anything', 'not-a-hash')).ok).toBe(false)
    expect((await verifyPassword('anything', dummyHash())).ok).toBe(false)
  })

  it('keeps the dummy hash on the current parameters, so it costs what a real verify costs', () => {
    const { logN, r, p } = currentHashParams()
    expect(dummyHash().startsWith(`scrypt$ln=${logN},r=${r},p=${p}$`)).toBe(true)
  })
})

describe('temporary passwords', () => {
  it('are 20 characters without look-alikes, and never repeat', () => {
    const many = Array.from({ length: 200 }, temporaryPassword)
    for (const p of many) expect(p).toMatch(/^[ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789]{20}$/)
    expect(new Set(many).size).toBe(200)
  })
})

describe('Semaphore', () => {
  it('never lets more than its limit run at once, and runs everyone', async () => {
    const gate = new Semaphore(2)
    let running = 0
    let peak = 0
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        gate.run(async () => {
          running++
          peak = Math.max(peak, running)
          await new Promise((resolve) => setTimeout(resolve, 1))
          running--
          return i
        }),
      ),
    )
    expect(peak).toBe(2)
    expect(results).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
  })

  it('frees the slot when the work throws', async () => {
    const gate = new Semaphore(1)
    await expect(gate.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom')
    expect(await gate.run(async () => 'next')).toBe('next')
  })
})
