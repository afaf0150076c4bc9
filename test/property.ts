import fc from 'fast-check'

/**
 * The seed of every property and fuzz run: fixed, so CI is reproducible; `FC_SEED=123 npx tap …`
 * replays or explores another one.
 */
export const SEED = process.env.FC_SEED === undefined ? 20250601 : Number(process.env.FC_SEED)

/** Runs a property with the shared seed; a failure names the seed, the counterexample and the error. */
export function check<T> (property: fc.IProperty<T>, numRuns = 1000): void {
  report(fc.check(property, { seed: SEED, numRuns }))
}

export async function checkAsync<T> (property: fc.IAsyncProperty<T>, numRuns = 1000): Promise<void> {
  report(await fc.check(property, { seed: SEED, numRuns }))
}

function report<T> (details: fc.RunDetails<T>): void {
  if (!details.failed) return
  const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)
  throw new Error(`property failed with FC_SEED=${SEED} (replay: FC_SEED=${SEED} npx tap <file>)\n` +
    `${fc.defaultReportMessage(details)}\nerror: ${error}`)
}
