/**
 * JSON as one reader sees it. `JSON.parse` lets the last of two equal keys
 * win, so `{"role":"member","role":"admin"}` reads as an admin here and as a
 * member to a proxy, a log or an audit tool that keeps the first. A body
 * with a duplicate key (at any depth, compared after unescaping, so `"a"`
 * and `"\u0061"` are the same key) is refused instead of guessed at.
 */
export type StrictJsonResult =
  | { ok: true; value: unknown }
  | { ok: false; reason: 'syntax' }
  | { ok: false; reason: 'duplicate-key'; key: string; path: string[] }

export function parseStrictJson(text: string): StrictJsonResult {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return { ok: false, reason: 'syntax' }
  }
  const duplicate = firstDuplicateKey(text)
  return duplicate ? { ok: false, reason: 'duplicate-key', ...duplicate } : { ok: true, value }
}

type Frame = { kind: 'object'; id: number; key: string } | { kind: 'array'; index: number }

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COLON = 0x3a

function isWhitespace(ch: number) {
  return ch === 0x20 || ch === 0x0a || ch === 0x0d || ch === 0x09
}

/**
 * Scans text that JSON.parse already accepted, so only the structure matters:
 * a string followed by `:` is a key of the innermost object. Iterative (no
 * recursion), because bodies may nest 100,000 levels deep before validation
 * refuses them; one set holds every (object, key) pair seen.
 */
function firstDuplicateKey(text: string): { key: string; path: string[] } | null {
  const stack: Frame[] = []
  const seen = new Set<string>()
  let objects = 0
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i)
    if (ch === QUOTE) {
      let end = i + 1
      let escaped = false
      while (text.charCodeAt(end) !== QUOTE) {
        if (text.charCodeAt(end) === BACKSLASH) {
          escaped = true
          end += 1
        }
        end += 1
      }
      let next = end + 1
      while (isWhitespace(text.charCodeAt(next))) next += 1
      if (text.charCodeAt(next) === COLON) {
        const key = escaped ? (JSON.parse(text.slice(i, end + 1)) as string) : text.slice(i + 1, end)
        const frame = stack[stack.length - 1] as Extract<Frame, { kind: 'object' }>
        const entry = `${frame.id}:${key}`
        if (seen.has(entry)) return { key, path: [...pathOf(stack.slice(0, -1)), key] }
        seen.add(entry)
        frame.key = key
        i = next
      } else {
        i = end
      }
    } else if (ch === 0x7b) {
      objects += 1
      stack.push({ kind: 'object', id: objects, key: '' })
    } else if (ch === 0x5b) {
      stack.push({ kind: 'array', index: 0 })
    } else if (ch === 0x7d || ch === 0x5d) {
      stack.pop()
    } else if (ch === 0x2c) {
      const frame = stack[stack.length - 1]
      if (frame?.kind === 'array') frame.index += 1
    }
  }
  return null
}

function pathOf(frames: Frame[]): string[] {
  return frames.map((f) => (f.kind === 'object' ? f.key : String(f.index)))
}
