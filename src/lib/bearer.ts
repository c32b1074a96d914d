/** The token of an `Authorization: Bearer <token>` header (scheme in any case), or null. */
export function bearerToken(header: string | undefined): string | null {
  return header?.match(/^Bearer\s+(\S+)\s*$/i)?.[1] ?? null
}
