// The async iterator of TStorageClient.getIter: the records of one GET, then its ACQ0.

import type { TStorageRecord } from "./record.ts";

/**
 * The records of a GET as an async iterator; `acq` is set once the iteration completed. Leave
 * the loop early (or call `return()`) to give the connection back: a GET still in flight then
 * closes the connection (it reconnects for the next call).
 *
 * @example
 * ```ts
 * import { Key, TStorageClient } from "@kvwire/kvwire/tstorage";
 * await using client = await TStorageClient.connect({ port: 62025 });
 * const records = client.getIter(Key.min(), Key.max());
 * for await (const record of records) console.log(String(record.key));
 * console.log(records.acq);
 * ```
 */
export class RecordIterator<T> implements AsyncIterableIterator<TStorageRecord<T>> {
  readonly #inner: AsyncGenerator<TStorageRecord<T>, void, undefined>;
  #acq: bigint | undefined;

  /** Wraps a generator that reports the acq through `done`. @internal */
  constructor(
    make: (done: (acq: bigint) => void) => AsyncGenerator<TStorageRecord<T>, void, undefined>,
  ) {
    this.#inner = make((acq) => (this.#acq = acq));
  }

  /** ACQ0 of the range, once the last record was read; undefined before or after a failure. */
  get acq(): bigint | undefined {
    return this.#acq;
  }

  /** The next record. */
  next(): Promise<IteratorResult<TStorageRecord<T>>> {
    return this.#inner.next();
  }

  /** Stops early and gives the connection back. */
  async return(): Promise<IteratorResult<TStorageRecord<T>>> {
    await this.#inner.return(undefined);
    return { value: undefined, done: true };
  }

  /** Returns itself: an iterator is consumed once. */
  [Symbol.asyncIterator](): this {
    return this;
  }
}
