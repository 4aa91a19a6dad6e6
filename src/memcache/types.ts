// The request and reply shapes shared by the three memcache machines (meta, text, binary), so
// that the client speaks one model whatever the wire protocol (memcached doc/protocol.txt).

import type { MemcacheError } from "./errors.ts";

/** How a store request treats an existing (or missing) item. */
export const StoreMode = {
  Set: "set",
  Add: "add",
  Replace: "replace",
  Append: "append",
  Prepend: "prepend",
  Cas: "cas",
} as const;

/** One of the values of {@link StoreMode}. */
export type StoreMode = typeof StoreMode[keyof typeof StoreMode];

/**
 * The outcome of a store, delete or touch, per key. `notStored`: the mode's condition failed
 * (add on an existing key, replace/append/prepend on a missing one); `exists`: the CAS token
 * was stale; `notFound`: the key is missing (CAS, delete, touch).
 */
export type MemcacheStatus = "stored" | "notStored" | "exists" | "notFound" | "deleted" | "touched";

/** An item as the server returned it. */
export interface MemcacheItem {
  /** The value bytes. */
  value: Uint8Array;
  /** The 32-bit client flags stored with the value. */
  flags: number;
  /** The CAS token, when it was asked for. */
  cas?: bigint;
}

/** One item of a store request. Keys are bytes; the machines validate them again. */
export interface StoreItem {
  /** The key bytes. */
  key: Uint8Array;
  /** The value bytes. */
  value: Uint8Array;
  /** Client flags, an unsigned 32-bit integer. Default 0. */
  flags?: number;
  /** Seconds to live (or a Unix time over 30 days); 0 = no expiry. Default 0. */
  ttl?: number;
  /** The CAS token for `mode: "cas"` (and, optionally, append/prepend on meta). */
  cas?: bigint;
}

/** A raw meta command (`mg`, `ms`, `md`, `ma`, `me`) for the meta protocol's full flag set. */
export interface MetaCommand {
  /** The meta command. */
  cmd: "mg" | "ms" | "md" | "ma" | "me";
  /** The key bytes. */
  key: Uint8Array;
  /**
   * Flags with their tokens, e.g. `["v", "f", "c", "T30", "N30", "R10", "q"]`. The opaque flag
   * `O` is reserved: the machine uses it to match replies. `b` is added for unsafe keys.
   */
  flags?: readonly string[];
  /** The data block of `ms`. */
  value?: Uint8Array;
}

/** A reply to a {@link MetaCommand}, with the common return flags decoded. */
export interface MetaResponse {
  /** `VA`, `HD`, `EN`, `NS`, `EX`, `NF` or `ME`. */
  code: string;
  /** The return flags as sent, e.g. `["s2", "t-1", "c5"]` (the opaque is removed). */
  flags: string[];
  /** The data block of a `VA` reply. */
  value?: Uint8Array;
  /** `c`: the CAS token. */
  cas?: bigint;
  /** `f`: the client flags. */
  clientFlags?: number;
  /** `t`: seconds left to live, -1 for none. */
  ttl?: number;
  /** `W`: this client won the right to recache the item. */
  win: boolean;
  /** `X`: the item is stale. */
  stale: boolean;
  /** `Z`: another client already won the recache. */
  alreadyWon: boolean;
  /** `ME`: the debug fields (`exp`, `la`, `cas`, `fetch`, `cls`, `size`). */
  debug?: Record<string, string>;
}

/**
 * A request to a memcache machine. Multi-key forms (`keys`, `items` longer than one) are one
 * pipelined batch on the wire, with one reply.
 */
export type MemcacheRequest =
  | { op: "get"; keys: readonly Uint8Array[]; cas?: boolean; touch?: number }
  | { op: "store"; mode: StoreMode; items: readonly StoreItem[] }
  | { op: "delete"; keys: readonly Uint8Array[]; time?: number }
  | {
    op: "incr" | "decr";
    key: Uint8Array;
    delta: bigint;
    /** Create a missing counter with this value (meta and binary only). */
    initial?: bigint;
    ttl?: number;
  }
  | { op: "touch"; key: Uint8Array; ttl: number }
  | { op: "flush"; delay?: number }
  | { op: "stats"; group?: string }
  | { op: "version" }
  | { op: "noop" }
  | { op: "meta"; commands: readonly MetaCommand[] };

/** The reply to a {@link MemcacheRequest}. */
export type MemcacheReply =
  | { type: "items"; items: (MemcacheItem | null)[] }
  | { type: "statuses"; statuses: (MemcacheStatus | MemcacheError)[] }
  | { type: "counter"; value: bigint | null }
  | { type: "ok" }
  | { type: "stats"; stats: Map<string, string> }
  | { type: "version"; version: string }
  | { type: "meta"; responses: (MetaResponse | MemcacheError | null)[] };

const NAMES: Record<string, string> = {
  get: "GET",
  set: "SET",
  add: "ADD",
  replace: "REPLACE",
  append: "APPEND",
  prepend: "PREPEND",
  cas: "CAS",
  delete: "DELETE",
  incr: "INCR",
  decr: "DECR",
  touch: "TOUCH",
  flush: "FLUSH_ALL",
  stats: "STATS",
  version: "VERSION",
  noop: "NOOP",
};

/**
 * A name for a request in messages, such as `"GET"` or `"SET"`.
 *
 * @example
 * ```ts
 * import { requestName } from "@kvwire/kvwire/memcache";
 * requestName({ op: "version" }); // "VERSION"
 * ```
 */
export function requestName(request: MemcacheRequest): string {
  switch (request.op) {
    case "store":
      return NAMES[request.mode];
    case "meta":
      return request.commands.length === 1 ? request.commands[0].cmd.toUpperCase() : "META";
    default:
      return NAMES[request.op];
  }
}
