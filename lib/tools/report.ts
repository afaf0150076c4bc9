import type { CorsRoute } from '../fastify/registry.ts'
import { summarize, type CorsPolicySummary } from '../fastify/summary.ts'

export interface CorsPolicyReportRow extends CorsPolicySummary {
  method: string
  path: string
}

export function reportRows (routes: readonly CorsRoute[]): CorsPolicyReportRow[] {
  return routes.map((route) => ({ method: route.methods.join(', '), path: route.url, ...summarize(route) }))
}

const COLUMNS: ReadonlyArray<[keyof CorsPolicyReportRow, string]> = [
  ['method', 'method'], ['path', 'path'], ['policy', 'policy'], ['origins', 'origins'], ['credentials', 'credentials'],
  ['methods', 'methods'], ['allowHeaders', 'allow headers'], ['exposeHeaders', 'expose headers'], ['maxAge', 'max age'],
]

/** A plain-text table, one line per route. */
export function formatReport (rows: readonly CorsPolicyReportRow[]): string {
  const cells = rows.map((row) => COLUMNS.map(([key]) => {
    const value = row[key]
    return value === null ? (key === 'policy' ? 'no CORS' : '-') : value === '' ? '-' : String(value)
  }))
  const header = COLUMNS.map(([, title]) => title)
  const widths = header.map((title, i) => Math.max(title.length, ...cells.map((line) => (line[i] as string).length)))
  const line = (values: readonly string[]): string => values.map((v, i) => v.padEnd(widths[i] as number)).join('  ').trimEnd()
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n') + '\n'
}
