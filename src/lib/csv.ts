/**
 * CSV for spreadsheets: RFC 4180 quoting, CRLF line ends, and a UTF-8 byte
 * order mark so Excel opens Japanese text correctly. Cells that a
 * spreadsheet would run as a formula (=, +, -, @, tab, CR) are prefixed
 * with an apostrophe (CSV injection).
 */
export const CSV_BOM = '\uFEFF'

export function csvRow(values: unknown[]): string {
  const cell = (value: unknown) => {
    let text = value === null || value === undefined ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value)
    if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
  }
  return `${values.map(cell).join(',')}\r\n`
}

export function toCsv(header: string[], rows: unknown[][]): string {
  return CSV_BOM + [header, ...rows].map(csvRow).join('')
}
