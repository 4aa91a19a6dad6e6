// TStorage request encoding (shared/protocols/tstorage.md §1.2-§1.9): 12-byte little-endian
// headers, GET/GET_ACQ key ranges, PUT/PUTA cid batches with maxBatchSize, the end marker.

import type { PayloadType } from "./payload.ts";
import { Key, keySize, type TStorageRecord, writeKey } from "./record.ts";

/**
 * Request command codes (the clients' values; the docs' PUT=2/PUTA=3 are not used).
 *
 * @example
 * ```ts
 * import { Command } from "@kvwire/kvwire/tstorage";
 * Command.PUT; // 5
 * ```
 */
export const Command = {
  GET: 1,
  PUT: 5,
  PUTA: 6,
  GET_ACQ: 7,
} as const;

/** One of the values of {@link Command}. */
export type Command = typeof Command[keyof typeof Command];

/** Bytes of a request or response header: int32 command/status, uint64 size. */
export const HEADER_SIZE = 12;

/** Largest record payload the server accepts: 32 MiB. */
export const MAX_PAYLOAD_SIZE = 32 * 1024 * 1024;

/** Largest `maxBatchSize` (and the default): 2^31 − 1. */
export const MAX_BATCH_SIZE = 0x7fffffff;

/**
 * Encodes a header: `int32 code | uint64 size`, little-endian.
 *
 * @example
 * ```ts
 * import { encodeHeader } from "@kvwire/kvwire/tstorage";
 * encodeHeader(1, 64); // 01000000 4000000000000000
 * ```
 */
export function encodeHeader(code: number, size: number | bigint): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE);
  const view = new DataView(out.buffer);
  view.setInt32(0, code, true);
  view.setBigUint64(4, BigInt(size), true);
  return out;
}

/**
 * Encodes a GET or GET_ACQ request: header (size 64), `keyMin`, `keyMax` (full 32-byte keys).
 * The keys are sent as given (the server judges the range); a field that does not fit its
 * wire type throws `RangeError`.
 *
 * @example
 * ```ts
 * import { Command, encodeGetRequest, Key } from "@kvwire/kvwire/tstorage";
 * encodeGetRequest(Command.GET, new Key(0, 0, 0, 0, 0), new Key(10, 10, 10, 10, 10)).length; // 76
 * ```
 */
export function encodeGetRequest(
  command: typeof Command.GET | typeof Command.GET_ACQ,
  keyMin: Key,
  keyMax: Key,
): Uint8Array {
  if (!(keyMin instanceof Key) || !(keyMax instanceof Key)) {
    throw new TypeError("keyMin and keyMax must be Key instances");
  }
  const out = new Uint8Array(HEADER_SIZE + 64);
  const view = new DataView(out.buffer);
  view.setInt32(0, command, true);
  view.setBigUint64(4, 64n, true);
  writeKey(view, HEADER_SIZE, keyMin, true, true);
  writeKey(view, HEADER_SIZE + 32, keyMax, true, true);
  return out;
}

/** Options of {@link encodePutRequest}. */
export interface PutEncodeOptions {
  /** PUTA (cmd 6, acq sent) instead of PUT (cmd 5, acq assigned by the server). */
  withAcq: boolean;
  /** Largest batch body in bytes (a larger single record goes alone). Default 2^31 − 1. */
  maxBatchSize?: number;
  /**
   * Leave out records whose key is not valid and report them; otherwise such a record throws
   * `RangeError` before anything is encoded. Default false.
   */
  skipInvalid?: boolean;
}

/** The encoded PUT/PUTA request. */
export interface PutEncoding {
  /** Header, batches and end marker. */
  bytes: Uint8Array;
  /** Records encoded. */
  written: number;
  /** Input positions of the records left out because their key was invalid. */
  skipped: number[];
  /** Body length of each batch, in order (for tests and diagnostics). */
  batches: { cid: number; length: number }[];
}

/**
 * Encodes a PUT or PUTA request: header (size 0), records grouped by cid in order of first
 * appearance (each group keeps its order and starts a batch; a batch is closed before a record
 * would take it over `maxBatchSize`), then the end marker `-1`. Everything is validated before
 * a byte is produced: keys, payload encoding, the 32 MiB payload limit. Unlike the reference
 * client, invalid records never put a negative cid on the wire (which ends the server's read
 * early and desynchronizes the session): they are skipped and reported, or rejected.
 *
 * @example
 * ```ts
 * import { BytesPayloadType, encodePutRequest, Key } from "@kvwire/kvwire/tstorage";
 * const put = encodePutRequest(
 *   [{ key: new Key(1, 2n, 3, 4n), value: new TextEncoder().encode("abc") }],
 *   new BytesPayloadType(),
 *   { withAcq: false },
 * );
 * put.bytes.length; // 51
 * ```
 */
export function encodePutRequest<T>(
  records: Iterable<TStorageRecord<T>>,
  payloadType: PayloadType<T>,
  options: PutEncodeOptions,
): PutEncoding {
  const withAcq = options.withAcq;
  const maxBatchSize = options.maxBatchSize ?? MAX_BATCH_SIZE;
  if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1 || maxBatchSize > MAX_BATCH_SIZE) {
    throw new RangeError(`maxBatchSize must be an integer in 1…2147483647, got ${maxBatchSize}`);
  }
  const keyBytes = keySize({ withCid: false, withAcq });
  const groups = new Map<number, { keys: Key[]; payloads: Uint8Array[] }>();
  const skipped: number[] = [];
  let index = 0;
  let total = 0;
  for (const record of records) {
    const position = index++;
    const key = record?.key;
    if (!(key instanceof Key)) {
      throw new TypeError(`Record ${position} has no Key (got ${typeof key})`);
    }
    const problem = keyProblem(key, withAcq);
    if (problem !== undefined) {
      if (options.skipInvalid) {
        skipped.push(position);
        continue;
      }
      throw new RangeError(`Record ${position} has an invalid key ${key}: ${problem}`);
    }
    const payload = payloadType.toBytes(record.value);
    if (!(payload instanceof Uint8Array)) {
      throw new TypeError(`Payload type returned no Uint8Array for record ${position}`);
    }
    if (payload.length > MAX_PAYLOAD_SIZE) {
      throw new RangeError(
        `Record ${position} has a payload of ${payload.length} bytes; the limit is ` +
          `${MAX_PAYLOAD_SIZE} (32 MiB)`,
      );
    }
    let group = groups.get(key.cid);
    if (!group) groups.set(key.cid, group = { keys: [], payloads: [] });
    group.keys.push(key);
    group.payloads.push(payload);
    total += 4 + keyBytes + payload.length;
  }
  // Plan the batches, then write once into a buffer of the exact size.
  const batches: { cid: number; length: number; count: number }[] = [];
  for (const [cid, group] of groups) {
    let current = { cid, length: 0, count: 0 };
    for (const payload of group.payloads) {
      const size = 4 + keyBytes + payload.length;
      if (current.count > 0 && current.length + size > maxBatchSize) {
        batches.push(current);
        current = { cid, length: 0, count: 0 };
      }
      current.length += size;
      current.count++;
    }
    batches.push(current);
  }
  const bytes = new Uint8Array(HEADER_SIZE + 8 * batches.length + total + 4);
  const view = new DataView(bytes.buffer);
  view.setInt32(0, withAcq ? Command.PUTA : Command.PUT, true);
  let at = HEADER_SIZE;
  let written = 0;
  let batchIndex = 0;
  for (const [cid, group] of groups) {
    let i = 0;
    while (i < group.keys.length) {
      const batch = batches[batchIndex++];
      view.setInt32(at, cid, true);
      view.setInt32(at + 4, batch.length, true);
      at += 8;
      for (const end = i + batch.count; i < end; i++) {
        const payload = group.payloads[i];
        view.setInt32(at, keyBytes + payload.length, true);
        at = writeKey(view, at + 4, group.keys[i], false, withAcq);
        bytes.set(payload, at);
        at += payload.length;
        written++;
      }
    }
  }
  view.setInt32(at, -1, true);
  return {
    bytes,
    written,
    skipped,
    batches: batches.map(({ cid, length }) => ({ cid, length })),
  };
}

function keyProblem(key: Key, withAcq: boolean): string | undefined {
  const problem = key.problem();
  if (problem === undefined || (!withAcq && problem.startsWith("acq "))) return undefined;
  return problem;
}
