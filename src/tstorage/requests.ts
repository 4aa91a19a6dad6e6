// The requests, replies and GET stream items of the TStorage machine (TStorageConnection).

import type { KvError } from "../core/errors.ts";
import type { PayloadType } from "./payload.ts";
import type { Key, TStorageRecord } from "./record.ts";

/** A request the machine accepts. */
export type TStorageRequest =
  | {
    type: "put";
    records: Iterable<TStorageRecord<unknown>>;
    payloadType: PayloadType<unknown>;
    /** PUTA: the records' acq is sent and stored as given. */
    withAcq: boolean;
    maxBatchSize?: number;
    skipInvalid?: boolean;
  }
  | { type: "getAcq"; keyMin: Key; keyMax: Key }
  | {
    type: "get";
    keyMin: Key;
    keyMax: Key;
    payloadType: PayloadType<unknown>;
    /** Bytes; over it the GET fails with `MemoryLimitError`. */
    memoryLimit?: number;
    /**
     * `"total"` (get, getIter): the whole response must fit `memoryLimit`. `"batch"`
     * (getStream): records come in batches of at most `memoryLimit` wire bytes each.
     */
    limitMode?: "total" | "batch";
  };

/** A reply to PUT/PUTA or GET_ACQ. */
export type TStorageReply =
  | { type: "put"; acqMin: bigint; acqMax: bigint; written: number; skipped: number[] }
  | { type: "acq"; acq: bigint };

/** What a GET streams: records, then `done` with the acq, or `failed`. */
export type GetItem =
  | { type: "records"; records: TStorageRecord<unknown>[] }
  | { type: "done"; acq: bigint }
  | { type: "failed"; error: KvError };

/** Options of a {@link TStorageConnection}. */
export interface TStorageConnectionOptions {
  /** Names the server in messages, e.g. `"tstorage 127.0.0.1:2025"`. */
  label?: string;
  /** Most records per `records` item of a get/getIter. Default 1024. */
  recordsPerItem?: number;
}
