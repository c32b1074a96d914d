import { sql, type SQL } from 'drizzle-orm'

/**
 * A list of values for `inArray(column, jsonList(ids))`, bound as ONE
 * parameter (a JSON array read back with json_each). D1 allows 100 bound
 * parameters per query, so a list whose length grows with the data (a page
 * of audit events, a tenant's accounts) must never become one parameter per
 * value: that query works in tests and answers 500 at realistic size.
 */
export function jsonList(values: readonly (string | number)[]): SQL {
  return sql`(SELECT value FROM json_each(${JSON.stringify(values)}))`
}
