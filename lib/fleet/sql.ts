import { CorsPolicyError } from 'fastify-cors-policy'

// The store's SQL: the table, and the triggers that tell listeners a row changed. The plugin never
// runs it (it needs only SELECT); an application runs it once, in a migration, with a role that may.

/** The table the plugin reads when the `table` option is left out. */
export const DEFAULT_TABLE = 'cors_policies'

/** The triggers the SQL creates on the table; the plugin checks they are there when it connects. */
export const ROW_TRIGGER = 'cors_policy_notify_row'
export const TRUNCATE_TRIGGER = 'cors_policy_notify_truncate'

// PostgreSQL truncates longer identifiers (NAMEDATALEN - 1 bytes); a notification channel longer than
// that is refused. The channel is the table's name, so the name must fit.
const MAX_IDENTIFIER_BYTES = 63

/** Why `table` is not a usable table name, or null when it is. */
export function tableProblem (table: unknown): string | null {
  if (typeof table !== 'string' || table === '') return 'is not a table name; table is a non-empty string such as "cors_policies"'
  if (table.includes('\0')) return 'contains a NUL character, which no PostgreSQL name can'
  if (Buffer.byteLength(table) > MAX_IDENTIFIER_BYTES) {
    return `is ${Buffer.byteLength(table)} bytes long; PostgreSQL names are at most ${MAX_IDENTIFIER_BYTES} bytes`
  }
  return null
}

/**
 * A PostgreSQL identifier, quoted: `"cors_policies"`, `"Tenant ""A"""`. The name is used as written
 * (case and all); a schema is chosen with the role's `search_path`, not with a dot in the name.
 */
export function quoteIdentifier (name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}

/**
 * The SQL that creates the store under another table name: the table (`name text primary key`,
 * `policy jsonb not null`, `candidate jsonb`), the function that notifies, a row trigger and a
 * statement-level TRUNCATE trigger. Idempotent: run it again to repair a table whose triggers are
 * missing. The notification carries the row's name only, on the channel named like the table.
 */
export function corsPoliciesSql (table: string): string {
  const problem = tableProblem(table)
  if (problem !== null) throw new CorsPolicyError([{ where: 'corsPoliciesSql', path: '', message: `the table name ${problem}` }])
  const t = quoteIdentifier(table)
  return `-- fastify-cors-policy: named CORS policies, pushed to every instance. Idempotent.
CREATE TABLE IF NOT EXISTS ${t} (
  name text PRIMARY KEY,
  policy jsonb NOT NULL,
  candidate jsonb
);

-- Tells listeners which row changed, on the channel named like the table. The payload is a hint,
-- the row's name only: a listener reads the row again (any role may NOTIFY, and a payload is at most
-- 8000 bytes). An empty payload, after a TRUNCATE or for a very long name, makes it read every row.
CREATE OR REPLACE FUNCTION cors_policy_notify() RETURNS trigger LANGUAGE plpgsql AS $cors$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    PERFORM pg_notify(TG_TABLE_NAME, '');
    RETURN NULL;
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    PERFORM pg_notify(TG_TABLE_NAME, CASE WHEN octet_length(OLD.name) <= 4000 THEN OLD.name ELSE '' END);
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    PERFORM pg_notify(TG_TABLE_NAME, CASE WHEN octet_length(NEW.name) <= 4000 THEN NEW.name ELSE '' END);
  END IF;
  RETURN NULL;
END
$cors$;

DROP TRIGGER IF EXISTS ${ROW_TRIGGER} ON ${t};
CREATE TRIGGER ${ROW_TRIGGER} AFTER INSERT OR UPDATE OR DELETE ON ${t}
  FOR EACH ROW EXECUTE FUNCTION cors_policy_notify();
DROP TRIGGER IF EXISTS ${TRUNCATE_TRIGGER} ON ${t};
CREATE TRIGGER ${TRUNCATE_TRIGGER} AFTER TRUNCATE ON ${t}
  FOR EACH STATEMENT EXECUTE FUNCTION cors_policy_notify();
`
}

/** `corsPoliciesSql('cors_policies')`: the SQL of the default table. */
export const CORS_POLICIES_SQL = corsPoliciesSql(DEFAULT_TABLE)
