// The TStorage protocol for the hostile-server kit: its own request parser (header, GET keys,
// PUT cid batches) and a tiny in-memory responder, written from tstorage.md §1, not src/.

import type { HostileProtocol } from "../_helpers/hostile_server.ts";
import { readKey, type SimKey, type SimRecord, writeKey } from "../fixtures/tstorage/wire.ts";
import { concatBytes } from "../../src/core/bytes.ts";

/** A parsed request. */
export type HostileRequest =
  | { cmd: "get" | "getAcq"; min: SimKey; max: SimKey }
  | { cmd: "put"; records: SimRecord[] }
  | { cmd: "unknown" };

const KEY = 32;

/** A response header: status, then `size` extra bytes (`extra`). */
export function header(status: number, extra: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(12 + extra.length);
  const view = new DataView(out.buffer);
  view.setInt32(0, status, true);
  view.setBigUint64(4, BigInt(extra.length), true);
  out.set(extra, 12);
  return out;
}

/** The i64s as little-endian bytes. */
export function i64s(...values: bigint[]): Uint8Array {
  const out = new Uint8Array(8 * values.length);
  values.forEach((v, i) => new DataView(out.buffer).setBigInt64(8 * i, v, true));
  return out;
}

/** An int32 as little-endian bytes. */
export function i32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setInt32(0, value, true);
  return out;
}

/** Splits one request off `buf` (PUT: cid batches up to a negative cid). */
function parse(buf: Uint8Array): { request: HostileRequest; length: number } | undefined {
  if (buf.length < 12) return undefined;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.length);
  const cmd = view.getInt32(0, true);
  if (cmd === 1 || cmd === 7) {
    const length = 12 + Number(view.getBigUint64(4, true));
    if (buf.length < length) return undefined;
    const request = {
      cmd: cmd === 1 ? "get" : "getAcq",
      min: readKey(view, 12),
      max: readKey(view, 44),
    };
    return { request: request as HostileRequest, length };
  }
  if (cmd !== 5 && cmd !== 6) return { request: { cmd: "unknown" }, length: buf.length };
  const keyPart = cmd === 5 ? 20 : 28;
  const records: SimRecord[] = [];
  let pos = 12;
  for (;;) {
    if (buf.length < pos + 4) return undefined;
    const cid = view.getInt32(pos, true);
    pos += 4;
    if (cid < 0) return { request: { cmd: "put", records }, length: pos };
    if (buf.length < pos + 4) return undefined;
    const end = pos + 4 + view.getInt32(pos, true);
    if (buf.length < end) return undefined;
    for (pos += 4; pos < end;) {
      const size = view.getInt32(pos, true);
      const k = pos + 4;
      records.push({
        cid,
        mid: view.getBigInt64(k, true),
        moid: view.getInt32(k + 8, true),
        cap: view.getBigInt64(k + 12, true),
        acq: cmd === 6 ? view.getBigInt64(k + 20, true) : 0n,
        payload: buf.slice(k + keyPart, k + size),
      });
      pos = k + size;
    }
  }
}

const FIELDS = ["cid", "mid", "moid", "cap", "acq"] as const;
const inRange = (r: SimKey, min: SimKey, max: SimKey): boolean =>
  FIELDS.every((f) => min[f] <= r[f] && r[f] < max[f]);

/** A hostile TStorage protocol over `records`; GET_ACQ answers `max.acq` (ACQ0 clamped). */
export function hostileTStorage(records: SimRecord[] = []): HostileProtocol<HostileRequest> {
  let clock = 1_000_000n;
  return {
    parse,
    respond(request) {
      switch (request.cmd) {
        case "getAcq":
          return { bytes: header(0, i64s(request.max.acq)) };
        case "put": {
          const first = clock + 1n;
          for (const r of request.records) records.push({ ...r, acq: ++clock });
          return { bytes: header(0, i64s(first, clock)) };
        }
        case "get": {
          const parts = [header(0)];
          for (const r of records.filter((r) => inRange(r, request.min, request.max))) {
            const bytes = new Uint8Array(4 + KEY + r.payload.length);
            const view = new DataView(bytes.buffer);
            view.setInt32(0, KEY + r.payload.length, true);
            writeKey(view, 4, r);
            bytes.set(r.payload, 4 + KEY);
            parts.push(bytes);
          }
          parts.push(i32(0), header(0, i64s(request.max.acq)));
          return { bytes: concatBytes(parts) };
        }
        default:
          return { bytes: header(-1) };
      }
    },
  };
}
