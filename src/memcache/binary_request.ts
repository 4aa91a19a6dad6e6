// Encoding of memcache requests as binary-protocol frames: validation first, then a writer
// that emits the frames (quiet opcodes and a closing NOOP for multi-key requests).

import { type ByteWriter, utf8Encode } from "../core/bytes.ts";
import { LocalProtocolError } from "../core/errors.ts";
import { checkDeleteTime, checkFlags, checkStatsGroup, checkTtl, checkU64 } from "./args.ts";
import { Opcode, writeRequestHeader } from "./binary_codec.ts";
import { checkKeyLength } from "./keys.ts";
import type { MemcacheRequest, StoreMode } from "./types.ts";

/** What kind of answer a request gets. */
export type BinaryKind =
  | "get"
  | "store"
  | "delete"
  | "counter"
  | "touch"
  | "ok"
  | "stats"
  | "version"
  | "sasl";

/** A validated request, ready to be written. */
export interface BinaryPlan {
  /** What kind of answer the request gets. */
  kind: BinaryKind;
  /** The store mode, for store requests. */
  mode?: StoreMode;
  /** Quiet frames plus a closing NOOP. */
  batch: boolean;
  /** Keys or items in the request. */
  count: number;
  /** Whether CAS tokens are asked for. */
  wantCas: boolean;
  /** Writes the frames; `opaque(index)` allocates each frame's opaque (-1: not a batch item). */
  write(w: ByteWriter, opaque: (index: number) => number): void;
}

const STORE_OPS: Record<string, [number, number]> = {
  set: [Opcode.Set, Opcode.SetQ],
  cas: [Opcode.Set, Opcode.SetQ],
  add: [Opcode.Add, Opcode.AddQ],
  replace: [Opcode.Replace, Opcode.ReplaceQ],
  append: [Opcode.Append, Opcode.AppendQ],
  prepend: [Opcode.Prepend, Opcode.PrependQ],
};

const NO_EXPIRY_CREATE = 0xffffffff; // incr/decr extras: fail on a missing key

/**
 * Binary expirations are unsigned: a negative TTL ("expire at once" in text and meta) becomes
 * the first absolute time (just over 30 days after the epoch), which is long past.
 */
function wireTtl(ttl: number): number {
  return ttl < 0 ? 60 * 60 * 24 * 30 + 1 : ttl;
}

function checkKeys(keys: readonly Uint8Array[]): readonly Uint8Array[] {
  if (keys.length === 0) throw new RangeError("A memcache request needs at least one key");
  for (const key of keys) {
    if (!(key instanceof Uint8Array)) throw new TypeError("A memcache key must be bytes here");
    checkKeyLength(key);
  }
  return keys;
}

function noop(w: ByteWriter, opaque: (index: number) => number): void {
  writeRequestHeader(w, Opcode.Noop, 0, 0, 0, opaque(-1));
}

/**
 * Validates a request for the binary protocol (throwing `TypeError`, `RangeError` or
 * `LocalProtocolError`) without writing anything; the plan's `write` emits the frames.
 *
 * @example
 * ```ts
 * import { ByteWriter } from "@kvwire/kvwire";
 * import { planBinaryRequest } from "@kvwire/kvwire/memcache";
 * const plan = planBinaryRequest({ op: "version" });
 * const w = new ByteWriter();
 * plan.write(w, () => 1);
 * w.finish().length; // 24
 * ```
 */
export function planBinaryRequest(request: MemcacheRequest): BinaryPlan {
  const plan = (kind: BinaryKind, write: BinaryPlan["write"], count = 1): BinaryPlan => ({
    kind,
    batch: false,
    count,
    wantCas: false,
    write,
  });
  switch (request.op) {
    case "get": {
      const keys = checkKeys(request.keys);
      const touch = request.touch === undefined ? undefined : wireTtl(checkTtl(request.touch));
      const batch = keys.length > 1;
      const [op, quiet] = touch === undefined
        ? [Opcode.Get, Opcode.GetQ]
        : [Opcode.Gat, Opcode.GatQ];
      const extras = touch === undefined ? 0 : 4;
      return {
        ...plan("get", (w, opaque) => {
          keys.forEach((key, i) => {
            writeRequestHeader(
              w,
              batch ? quiet : op,
              key.length,
              extras,
              0,
              opaque(batch ? i : -1),
            );
            if (touch !== undefined) w.writeUint32BE(touch);
            w.writeBytes(key);
          });
          if (batch) noop(w, opaque);
        }, keys.length),
        batch,
        wantCas: request.cas === true,
      };
    }
    case "store": {
      const items = request.items;
      if (items.length === 0) throw new RangeError("A store needs at least one item");
      const checked = items.map((item) => {
        checkKeyLength(item.key);
        if (!(item.value instanceof Uint8Array)) {
          throw new TypeError("A memcache value must be bytes at this layer");
        }
        if (request.mode === "cas" && item.cas === undefined) {
          throw new TypeError("A CAS store needs the item's cas token");
        }
        const cas = item.cas === undefined ? undefined : checkU64(item.cas, "CAS token");
        return { flags: checkFlags(item.flags), ttl: wireTtl(checkTtl(item.ttl)), cas };
      });
      const [op, quiet] = STORE_OPS[request.mode];
      const extras = request.mode === "append" || request.mode === "prepend" ? 0 : 8;
      const batch = items.length > 1;
      return {
        ...plan("store", (w, opaque) => {
          items.forEach((item, i) => {
            const c = checked[i];
            const code = batch ? quiet : op;
            const o = opaque(batch ? i : -1);
            writeRequestHeader(w, code, item.key.length, extras, item.value.length, o, c.cas);
            if (extras) w.writeUint32BE(c.flags).writeUint32BE(c.ttl);
            w.writeBytes(item.key).writeBytes(item.value);
          });
          if (batch) noop(w, opaque);
        }, items.length),
        mode: request.mode,
        batch,
      };
    }
    case "delete": {
      checkDeleteTime(request.time, "binary");
      const keys = checkKeys(request.keys);
      const batch = keys.length > 1;
      return {
        ...plan("delete", (w, opaque) => {
          keys.forEach((key, i) => {
            const op = batch ? Opcode.DeleteQ : Opcode.Delete;
            writeRequestHeader(w, op, key.length, 0, 0, opaque(batch ? i : -1));
            w.writeBytes(key);
          });
          if (batch) noop(w, opaque);
        }, keys.length),
        batch,
      };
    }
    case "incr":
    case "decr": {
      const [key] = checkKeys([request.key]);
      const delta = checkU64(request.delta, "delta");
      const initial = request.initial === undefined
        ? 0n
        : checkU64(request.initial, "initial value");
      const expiry = request.initial === undefined
        ? NO_EXPIRY_CREATE
        : wireTtl(checkTtl(request.ttl));
      const op = request.op === "incr" ? Opcode.Increment : Opcode.Decrement;
      return plan("counter", (w, opaque) => {
        writeRequestHeader(w, op, key.length, 20, 0, opaque(-1));
        w.writeBigInt64BE(delta).writeBigInt64BE(initial).writeUint32BE(expiry).writeBytes(key);
      });
    }
    case "touch": {
      const [key] = checkKeys([request.key]);
      const ttl = wireTtl(checkTtl(request.ttl));
      return plan("touch", (w, opaque) => {
        writeRequestHeader(w, Opcode.Touch, key.length, 4, 0, opaque(-1));
        w.writeUint32BE(ttl).writeBytes(key);
      });
    }
    case "flush": {
      const delay = request.delay ? checkTtl(request.delay, "flush delay") >>> 0 : 0;
      return plan("ok", (w, opaque) => {
        writeRequestHeader(w, Opcode.Flush, 0, delay ? 4 : 0, 0, opaque(-1));
        if (delay) w.writeUint32BE(delay);
      });
    }
    case "stats": {
      const group = utf8Encode(checkStatsGroup(request.group));
      return plan("stats", (w, opaque) => {
        writeRequestHeader(w, Opcode.Stat, group.length, 0, 0, opaque(-1));
        w.writeBytes(group);
      });
    }
    case "version":
      return plan("version", (w, opaque) => {
        writeRequestHeader(w, Opcode.Version, 0, 0, 0, opaque(-1));
      });
    case "noop":
      return plan("ok", noop);
    case "meta":
      throw new LocalProtocolError("Meta commands need the meta protocol");
    default:
      throw new TypeError(`Unknown memcache request ${JSON.stringify(request)}`);
  }
}
