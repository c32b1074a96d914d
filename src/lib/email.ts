/** One spelling per address: trimmed, NFC, lower-case (SE-12: one account per person). */
export function normaliseEmail(email: string): string {
  return email.trim().normalize('NFC').toLowerCase()
}
