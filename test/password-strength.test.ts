import { describe, expect, it } from 'vitest'
import { passwordWeakness } from '../src/services/passwords/password-policy'
import { SCORED_LENGTH, editsWithin, estimateStrength, strengthPlan } from '../src/services/passwords/password-strength'
import { PASSWORD_MAX_LENGTH } from '../src/services/passwords/passwords'

/**
 * The strength check is synchronous CPU inside a request. zxcvbn as shipped
 * took 0.1–4 s per check (BENCHMARKS.md, `npm run bench:strength`); these
 * tests pin the bound by what the check does, not by how long it takes, and
 * show that short passwords are judged as before.
 */
const context = { email: 'hanako.yamada@example.com', tenantSlug: 'acme-corp', minLength: 8 }
const TOO_EASY = /^This password is too easy to guess\. .+/

/** 128 characters of l33t symbols: the input that took zxcvbn 4 s at 16 characters. */
const ADVERSARIAL = '1!|'.repeat(43).slice(0, PASSWORD_MAX_LENGTH)

function randomPassword(length: number) {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789-_.:;#%&*+='
  const bytes = crypto.getRandomValues(new Uint8Array(length))
  return [...bytes].map((b) => alphabet[b % alphabet.length]).join('')
}

describe('password strength, bounded', () => {
  it('scores a 128-character adversarial password from its first 32 characters, with 10 l33t readings and no near-miss search', () => {
    expect(ADVERSARIAL).toHaveLength(128)
    expect(strengthPlan(ADVERSARIAL)).toEqual({ scored: ADVERSARIAL.slice(0, SCORED_LENGTH), l33tReadings: 10, nearMisses: false })
    expect(SCORED_LENGTH).toBe(32)
    const result = estimateStrength(ADVERSARIAL, ['hanako.yamada'])
    expect(result.password).toBe(ADVERSARIAL.slice(0, 32))
    expect(result.sequence.filter((m) => 'levenshteinDistance' in m)).toEqual([])
    expect(passwordWeakness(ADVERSARIAL, context)).toMatch(TOO_EASY)
  })

  it('keeps every l33t reading and the near-miss search for a short password', () => {
    expect(strengthPlan('P4ssw0rd!')).toEqual({ scored: 'P4ssw0rd!', l33tReadings: 100, nearMisses: true })
    expect(strengthPlan('x'.repeat(16)).l33tReadings).toBe(100)
    expect(strengthPlan('x'.repeat(17)).l33tReadings).toBe(10)
  })

  it('cuts at characters, never inside a surrogate pair', () => {
    const emoji = '🔐'.repeat(40)
    expect(strengthPlan(emoji).scored).toBe('🔐'.repeat(32))
  })

  it.each([
    // Each is scored 3 or 4 without near-miss matching, and 0 or 1 with it (as zxcvbn's own Levenshtein step scored them).
    ['passwrod1234', 'password1234'],
    ['Tr0ub4dor&3', 'troubadours'],
    ['hanako.yamadda', 'hanako.yamada'],
  ])('still refuses %j, a near miss of %j', (password, word) => {
    expect(passwordWeakness(password, context)).toMatch(TOO_EASY)
    const near = estimateStrength(password, ['hanako.yamada', 'acme-corp']).sequence.find((m) => 'levenshteinDistance' in m)
    expect(near).toMatchObject({ pattern: 'dictionary', matchedWord: word })
  })

  it.each([['password123'], ['qwertyuiop'], ['Password2026!'], ['aaaaaaaaaaaa'], ['P4ssw0rd!'], ['passwordpasswordpassword']])(
    'refuses the guessable %j',
    (password) => {
      expect(passwordWeakness(password, context)).toMatch(TOO_EASY)
    },
  )

  it('accepts long random passwords at every length up to the maximum', () => {
    for (const length of [16, 32, 64, PASSWORD_MAX_LENGTH]) expect(passwordWeakness(randomPassword(length), context)).toBeNull()
  })

  it('refuses a long password whose first 32 characters are guessable, even if more follows', () => {
    expect(passwordWeakness(`${'password'.repeat(4)}${randomPassword(40)}`, context)).toMatch(TOO_EASY)
  })

  it('counts edits exactly up to the limit, and -1 beyond it', () => {
    const reference = (a: string, b: string) => {
      let row = Array.from({ length: b.length + 1 }, (_, j) => j)
      for (let i = 1; i <= a.length; i++) {
        const next = [i]
        for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1), row[j]! + 1, next[j - 1]! + 1)
        row = next
      }
      return row[b.length]!
    }
    const letters = 'abcab'
    const word = () => Array.from({ length: 1 + Math.floor(Math.random() * 9) }, () => letters[Math.floor(Math.random() * letters.length)]).join('')
    for (let i = 0; i < 2000; i++) {
      const [a, b, max] = [word(), word(), Math.floor(Math.random() * 5)]
      const distance = reference(a, b)
      expect([a, b, max, editsWithin(a, b, max)]).toEqual([a, b, max, distance <= max ? distance : -1])
    }
  })
})
