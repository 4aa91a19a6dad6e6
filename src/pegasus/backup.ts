// Backup requests (pegasus.md §1.3; the Java client's BackupRequestInterceptor): a read the
// primary has not answered after a delay is also sent to a random secondary, marked
// is_backup_request; the first answer wins and the other request is aborted.

/**
 * RPCs a secondary serves as a backup request: point reads, ttl / exist, multi_get and
 * sortkey_count. Scans stay on the primary (their server-side context lives there); writes are
 * never sent to a secondary.
 *
 * @example
 * ```ts
 * import { BACKUP_READS } from "@kvwire/kvwire/pegasus";
 * BACKUP_READS.has("RPC_RRDB_RRDB_GET"); // true
 * BACKUP_READS.has("RPC_RRDB_RRDB_PUT"); // false
 * ```
 */
export const BACKUP_READS: ReadonlySet<string> = new Set([
  "RPC_RRDB_RRDB_GET",
  "RPC_RRDB_RRDB_TTL",
  "RPC_RRDB_RRDB_MULTI_GET",
  "RPC_RRDB_RRDB_SORTKEY_COUNT",
]);

/** One side of a {@link firstAnswer} race: sends the request, aborted through `signal`. */
export type Attempt<T> = (signal: AbortSignal) => Promise<T>;

/**
 * Runs `primary`; if it has not settled after `delay` ms, also runs `backup` (after calling
 * `onBackup`). Resolves with the first success. A failed backup leaves the primary to answer;
 * a failed primary waits for a backup in flight and rejects with its own error when that fails
 * too. The loser is aborted and its outcome observed (no unhandled rejection); `signal` aborts
 * both.
 *
 * @example
 * ```ts
 * import { firstAnswer } from "@kvwire/kvwire/pegasus";
 * const slow = () => new Promise<string>((resolve) => setTimeout(() => resolve("primary"), 50));
 * await firstAnswer(slow, () => Promise.resolve("secondary"), 10); // "secondary"
 * ```
 */
export function firstAnswer<T>(
  primary: Attempt<T>,
  backup: Attempt<T>,
  delay: number,
  signal?: AbortSignal,
  onBackup?: () => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const primaryCtl = new AbortController();
    const backupCtl = new AbortController();
    let settled = false;
    let primaryError: { error: unknown } | undefined;
    /** 0: not started, 1: in flight, 2: failed. */
    let backupState = 0;
    const onAbort = (): void => {
      primaryCtl.abort(signal!.reason);
      backupCtl.abort(signal!.reason);
    };
    const done = (): void => {
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    const win = (value: T, loser: AbortController): void => {
      if (settled) return;
      done();
      loser.abort();
      resolve(value);
    };
    const failIfBoth = (): void => {
      if (settled || !primaryError || backupState === 1) return;
      done();
      backupCtl.abort();
      reject(primaryError.error);
    };
    const timer = setTimeout(() => {
      if (settled) return;
      backupState = 1;
      onBackup?.();
      backup(backupCtl.signal).then((value) => win(value, primaryCtl), () => {
        backupState = 2;
        failIfBoth();
      });
    }, delay);
    signal?.addEventListener("abort", onAbort, { once: true });
    if (signal?.aborted) onAbort();
    primary(primaryCtl.signal).then((value) => win(value, backupCtl), (error) => {
      primaryError = { error };
      failIfBoth();
    });
  });
}
