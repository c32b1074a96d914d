// The memory of a local dev server's runtime, as the backup benchmarks measure it: the resident
// set (RSS) of the workerd processes under one `wrangler dev`, summed, with the anonymous part
// (heaps: V8's and the allocator's) apart from the file-backed part (the binary, mapped files).
import { readFileSync, readdirSync } from 'node:fs'

/** RSS of the workerd processes under `serverPid` (other checkouts' servers are not counted), in bytes. */
export function workerdRss(serverPid) {
  const parents = new Map()
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      parents.set(Number(pid), Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]))
    } catch {}
  }
  const underServer = (pid) => {
    for (let p = pid; p > 1; p = parents.get(p) ?? 0) if (p === serverPid) return true
    return false
  }
  const usage = { rss: 0, anon: 0, file: 0 }
  for (const pid of parents.keys()) {
    if (!underServer(pid)) continue
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('workerd')) continue
      const status = readFileSync(`/proc/${pid}/status`, 'utf8')
      const kb = (field) => Number(status.match(new RegExp(`${field}:\\s+(\\d+) kB`))?.[1] ?? 0) * 1024
      usage.rss += kb('VmRSS')
      usage.anon += kb('RssAnon')
      usage.file += kb('RssFile')
    } catch {}
  }
  return usage
}

/** Runs `work` while sampling the RSS every 50 ms; returns its result and the peak RSS. */
export async function sampled(serverPid, work) {
  let peak = workerdRss(serverPid).rss
  const timer = setInterval(() => (peak = Math.max(peak, workerdRss(serverPid).rss)), 50)
  try {
    const result = await work()
    return { result, peak: Math.max(peak, workerdRss(serverPid).rss) }
  } finally {
    clearInterval(timer)
  }
}

/** The RSS once the server has been idle for a second (after the work before it has settled). */
export async function idleRss(serverPid) {
  await new Promise((r) => setTimeout(r, 1000))
  return workerdRss(serverPid)
}

export const mb = (bytes) => Math.round(bytes / 1048576)
