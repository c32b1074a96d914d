import { MatcherBaseClass, ZxcvbnFactory, type MatchExtended, type MatchOptions, type Options, type ZxcvbnResult } from '@zxcvbn-ts/core'
import * as common from '@zxcvbn-ts/language-common'
import * as english from '@zxcvbn-ts/language-en'

/**
 * zxcvbn, bounded. The check runs synchronously inside a request, so its CPU
 * time is time the isolate serves nobody else. As shipped, zxcvbn's Levenshtein
 * step walks all ~236,000 dictionary words once for the password and once more
 * for every l33t reading of it (up to 100), and the l33t and dictionary
 * matchers grow with the square of the length: 0.1–0.6 s for an ordinary
 * password, 4 s for 16 characters of `1!|` (BENCHMARKS.md). Bounded here:
 *
 * - Levenshtein: our own matcher with the same rule as zxcvbn's (the whole
 *   password within 2 edits of a word, more for longer words), over words
 *   grouped by length and ranked, so it compares only words of a possible
 *   length and stops at the best-ranked hit. It can never match past the
 *   longest word plus 2 characters, so it does not run there.
 * - l33t: every reading zxcvbn tries (100) up to SHORT_PASSWORD characters,
 *   where guessable passwords live; L33T_READINGS_LONG beyond.
 * - Length: only the first SCORED_LENGTH characters are scored. Guessing a
 *   password means guessing its start, so a strong start is a strong password;
 *   a weak one is refused even if more follows.
 */
export const SCORED_LENGTH = 32
const SHORT_PASSWORD = 16
const L33T_READINGS_SHORT = 100
const L33T_READINGS_LONG = 10
/** zxcvbn's own default edit distance for a near-miss of a word. */
const NEAR_MISS_EDITS = 2

export type StrengthPlan = {
  /** What is scored: the password's first SCORED_LENGTH characters. */
  scored: string
  /** How many l33t readings (`p@ssw0rd` → `password`) the dictionary matcher tries. */
  l33tReadings: number
  /** Whether the near-miss (Levenshtein) search over the dictionaries runs at all (the user inputs are always searched: two words). */
  nearMisses: boolean
}

/** How much work one check of `password` does (exported so tests can assert the bound). */
export function strengthPlan(password: string): StrengthPlan {
  const characters = [...password]
  const scored = characters.slice(0, SCORED_LENGTH).join('')
  return {
    scored,
    l33tReadings: characters.length <= SHORT_PASSWORD ? L33T_READINGS_SHORT : L33T_READINGS_LONG,
    nearMisses: scored.length <= longestWord() + NEAR_MISS_EDITS,
  }
}

/** zxcvbn's score and feedback for `password`, within the bound above. */
export function estimateStrength(password: string, userInputs: string[]): ZxcvbnResult {
  const plan = strengthPlan(password)
  const zxcvbn = estimator()
  // The factory offers no per-check setting; check() is synchronous, so no other check sees this value.
  zxcvbn['options'].l33tMaxSubstitutions = plan.l33tReadings
  return zxcvbn.check(plan.scored, userInputs)
}

const DICTIONARY = { ...common.dictionary, ...english.dictionary }

let longest: number | null = null

function longestWord() {
  longest ??= Object.values(DICTIONARY).reduce((max, words) => words.reduce<number>((m, w) => Math.max(m, String(w).length), max), 0)
  return longest
}

let built: ZxcvbnFactory | null = null

/** Built on first use: the dictionaries take a moment, which no request but a password change should pay. */
function estimator() {
  built ??= new ZxcvbnFactory(
    {
      dictionary: DICTIONARY,
      graphs: common.adjacencyGraphs,
      translations: english.translations,
      // Replaced by the nearMiss matcher, which finds the same near-misses without walking every word.
      useLevenshteinDistance: false,
    },
    // Its matches are 'dictionary' matches, so zxcvbn scores and explains them with its dictionary rules, never these two.
    { nearMiss: { Matching: NearMissMatcher, scoring: () => 0, feedback: () => null } },
  )
  return built
}

/** Words of one length in rank order, each with the set of characters it contains (see characterSet). */
type RankedWords = { words: string[]; ranks: number[]; characters: number[] }

/**
 * zxcvbn's Levenshtein rule as a matcher: the whole password (and its plain
 * reading, with l33t symbols replaced) within NEAR_MISS_EDITS edits of a
 * dictionary word, or within a quarter of its length of a longer word. Its
 * matches are ordinary dictionary matches, scored by the word's rank; where
 * several words qualify it takes the best-ranked (the most guessable).
 */
class NearMissMatcher extends MatcherBaseClass {
  /** Per dictionary, its words grouped by length, each group in rank order. */
  private readonly byLength: Record<string, RankedWords[]> = {}
  private readonly plain = new Map<string, string>()
  private readonly longestSymbol: number

  constructor(options: Options) {
    super(options)
    for (const [name, ranked] of Object.entries(options.rankedDictionaries)) this.byLength[name] = groupByLength(ranked)
    // The first letter zxcvbn's own l33t table lists for a symbol is the reading it tries first.
    for (const [letter, symbols] of Object.entries(options.l33tTable)) {
      for (const symbol of symbols) if (!this.plain.has(symbol)) this.plain.set(symbol, letter)
    }
    this.longestSymbol = Math.max(...[...this.plain.keys()].map((s) => s.length))
  }

  match({ password, userInputsOptions }: MatchOptions): MatchExtended[] {
    const lower = password.toLowerCase()
    const n = lower.length
    // A word can be at most NEAR_MISS_EDITS shorter than the password; past the longest word there is nothing to find.
    const dictionaries = Object.entries(this.options.rankedDictionaries)
      .filter(([name]) => n <= this.byLength[name]!.length - 1 + NEAR_MISS_EDITS)
      .map(([name, ranked]) => ({ name, ranked, byLength: this.byLength[name]! }))
    const userInputs = userInputsOptions?.rankedDictionary ?? {}
    if (Object.keys(userInputs).length) dictionaries.push({ name: 'userInputs', ranked: userInputs, byLength: groupByLength(userInputs) })
    if (dictionaries.length === 0) return []
    const whole = { pattern: 'dictionary' as const, i: 0, j: password.length - 1, token: password, reversed: false }
    const reading = this.plainReading(lower)
    const matches: MatchExtended[] = []
    for (const { name, ranked, byLength } of dictionaries) {
      const near = nearestWord(lower, ranked, byLength)
      if (near) matches.push({ ...whole, ...near, dictionaryName: name, l33t: false })
      const nearReading = reading && nearestWord(reading.text, ranked, byLength)
      if (nearReading) {
        const subDisplay = reading.subs.map((s) => `${s.substitution} -> ${s.letter}`).join(', ')
        matches.push({ ...whole, ...nearReading, dictionaryName: name, l33t: true, subs: reading.subs, subDisplay })
      }
    }
    return matches
  }

  /** The password with every l33t symbol read as its first letter, widest symbol first (zxcvbn's order). */
  private plainReading(lower: string) {
    let text = ''
    const subs: { letter: string; substitution: string }[] = []
    for (let i = 0; i < lower.length; ) {
      let width = Math.min(this.longestSymbol, lower.length - i)
      for (; width > 0; width--) {
        const letter = this.plain.get(lower.slice(i, i + width))
        if (letter === undefined) continue
        text += letter
        if (!subs.some((s) => s.letter === letter && s.substitution === lower.slice(i, i + width))) {
          subs.push({ letter, substitution: lower.slice(i, i + width) })
        }
        i += width
        break
      }
      if (width === 0) text += lower[i++]
    }
    return subs.length ? { text, subs } : null
  }
}

function groupByLength(ranked: Record<string, number>): RankedWords[] {
  const groups: RankedWords[] = []
  const entries = Object.entries(ranked).sort((a, b) => a[1] - b[1])
  for (const [word, rank] of entries) {
    const group = (groups[word.length] ??= { words: [], ranks: [], characters: [] })
    group.words.push(word)
    group.ranks.push(rank)
    group.characters.push(characterSet(word))
  }
  for (let i = 0; i < groups.length; i++) groups[i] ??= { words: [], ranks: [], characters: [] }
  return groups
}

/**
 * The best-ranked word within zxcvbn's edit allowance of `text`, or null.
 * A word equal to `text` is the dictionary matcher's business, not a near miss.
 */
function nearestWord(text: string, ranked: Record<string, number>, byLength: RankedWords[]) {
  if (ranked[text] !== undefined) return null
  const n = text.length
  const own = characterSet(text)
  let best: { matchedWord: string; rank: number; levenshteinDistance: number; levenshteinDistanceEntry: string } | null = null
  const shortest = Math.max(1, n - (n <= NEAR_MISS_EDITS ? Math.ceil(n / 4) : NEAR_MISS_EDITS))
  const longest = Math.min(byLength.length - 1, n + Math.ceil(n / 4))
  for (let length = shortest; length <= longest; length++) {
    const group = byLength[length]!
    // zxcvbn's allowance: a quarter of the password's length against longer words and for tiny passwords, else 2.
    const allowed = n <= length || n <= NEAR_MISS_EDITS ? Math.ceil(n / 4) : NEAR_MISS_EDITS
    if (Math.abs(n - length) > allowed) continue
    for (let k = 0; k < group.words.length; k++) {
      const rank = group.ranks[k]!
      if (best && rank >= best.rank) break
      // Every character the password has and the word lacks (or the reverse) costs at least one edit.
      const theirs = group.characters[k]!
      if (bitCount(own & ~theirs) > allowed || bitCount(theirs & ~own) > allowed) continue
      const word = group.words[k]!
      const edits = editsWithin(text, word, allowed)
      if (edits >= 0) {
        best = { matchedWord: word, rank, levenshteinDistance: edits, levenshteinDistanceEntry: word }
        break
      }
    }
  }
  return best
}

/**
 * The characters of a word as 32 bits: a–z one bit each, digits and other
 * characters sharing the rest. Two different characters may share a bit, so a
 * bit the password has and the word lacks is still one character the word
 * lacks: counting those never overstates the edits needed.
 */
function characterSet(word: string): number {
  let bits = 0
  for (let i = 0; i < word.length; i++) {
    const c = word.charCodeAt(i)
    bits |= 1 << (c >= 97 && c <= 122 ? c - 97 : c >= 48 && c <= 57 ? 26 + ((c - 48) % 5) : 31)
  }
  return bits
}

function bitCount(bits: number): number {
  let v = bits - ((bits >>> 1) & 0x55555555)
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333)
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24
}

const OUT_OF_REACH = 1 << 20
let previous = new Int32Array(64)
let current = new Int32Array(64)

/**
 * The Levenshtein distance between `a` and `b` if it is at most `max`, else
 * -1: only the diagonal band of width 2·max+1 is computed, and the walk stops
 * as soon as a whole row is out of reach.
 */
export function editsWithin(a: string, b: string, max: number): number {
  const n = a.length
  const m = b.length
  if (Math.abs(n - m) > max) return -1
  if (previous.length < m + 2) {
    previous = new Int32Array(m + 2)
    current = new Int32Array(m + 2)
  }
  for (let j = 0; j <= m; j++) previous[j] = j <= max ? j : OUT_OF_REACH
  previous[m + 1] = OUT_OF_REACH
  for (let i = 1; i <= n; i++) {
    const from = Math.max(1, i - max)
    const to = Math.min(m, i + max)
    current[from - 1] = from === 1 && i <= max ? i : OUT_OF_REACH
    let rowBest = current[from - 1]!
    const char = a.charCodeAt(i - 1)
    for (let j = from; j <= to; j++) {
      const substitute = previous[j - 1]! + (char === b.charCodeAt(j - 1) ? 0 : 1)
      const cost = Math.min(substitute, previous[j]! + 1, current[j - 1]! + 1)
      current[j] = cost
      if (cost < rowBest) rowBest = cost
    }
    if (to < m) current[to + 1] = OUT_OF_REACH
    if (rowBest > max) return -1
    const swap = previous
    previous = current
    current = swap
  }
  return previous[m]! <= max ? previous[m]! : -1
}
