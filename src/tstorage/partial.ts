// Where a failed GET's partial records are kept for `partialData(error)` (errors.ts). Internal:
// not re-exported from mod.ts.

/** Records received by failed GETs, by error object. */
export const partials: WeakMap<object, readonly unknown[]> = new WeakMap();

/** Attaches the records a failed GET received before it failed. */
export function attachPartialData(error: unknown, data: readonly unknown[]): void {
  if (typeof error === "object" && error !== null) partials.set(error, data);
}
