/** @jsxImportSource hono/jsx */
import { encode } from 'uqr'

/**
 * A QR code as inline SVG built from its modules: presentation attributes
 * only (no `style`), so the CSP without `unsafe-inline` lets it render, and
 * no markup string is ever inserted raw.
 */
export function QrCode({ data, label }: { data: string; label: string }) {
  const qr = encode(data, { ecc: 'M', border: 4 })
  const path: string[] = []
  qr.data.forEach((row, y) => row.forEach((dark, x) => dark && path.push(`M${x},${y}h1v1h-1z`)))
  return (
    <div class="qr">
      <svg xmlns="http://www.w3.org/2000/svg" viewBox={`0 0 ${qr.size} ${qr.size}`} role="img" aria-label={label} shape-rendering="crispEdges">
        <rect width={qr.size} height={qr.size} fill="#fff" />
        <path d={path.join('')} fill="#000" />
      </svg>
    </div>
  )
}
