/**
 * Bounds how many callers run a section at once; the rest wait in FIFO order.
 * Used for memory-hungry work (password hashes) inside one isolate.
 */
export class Semaphore {
  private active = 0
  private readonly waiting: Array<() => void> = []

  constructor(private readonly limit: number) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve))
    else this.active++
    try {
      return await work()
    } finally {
      const next = this.waiting.shift()
      // Hand the slot straight to the next waiter so `active` never over-counts.
      if (next) next()
      else this.active--
    }
  }
}
