// The byte vectors of shared/protocols/tstorage.md §4, written as the spec prints them, and a
// few helpers to turn them into bytes. Shared by the codec, decoder, machine and simulator tests.

/** Bytes from spec notation: hex digits, with spaces and `|` ignored. */
export function hex(text: string): Uint8Array {
  const digits = text.replace(/[\s|]/g, "");
  if (!/^([0-9a-f]{2})*$/i.test(digits)) throw new Error(`Bad hex vector ${text}`);
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Lower-case hex of bytes, for readable assertion failures. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Joins byte arrays. */
export function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export const V1_PUT = hex(
  "05000000 0000000000000000 | 01000000 1b000000 | 17000000 0200000000000000 03000000 " +
    "0400000000000000 616263 | ffffffff",
);
export const V1_OK_REPLY = hex(
  "00000000 1000000000000000 6400000000000000 c800000000000000",
);
export const V2_PUTA = hex(
  "06000000 0000000000000000 | 01000000 23000000 | 1f000000 0200000000000000 03000000 " +
    "0400000000000000 0500000000000000 616263 | ffffffff",
);
export const V3_PUT_GROUPED = hex(
  "05000000 0000000000000000 | 07000000 31000000 | 15000000 0100000000000000 01000000 " +
    "0a00000000000000 78 | 14000000 0300000000000000 03000000 1e00000000000000 | 03000000 " +
    "1a000000 | 16000000 0200000000000000 02000000 1400000000000000 7979 | ffffffff",
);
export const V3_EMPTY_PUT = hex("05000000 0000000000000000 ffffffff");
/** V4's cid-1 batch (the valid prefix) and cid-2 batch. */
export const V4_CID1_BATCH = hex(
  "01000000 19000000 15000000 0200000000000000 03000000 0400000000000000 61",
);
export const V4_CID2_BATCH = hex(
  "02000000 19000000 15000000 0200000000000000 03000000 0400000000000000 63",
);
export const V5_GET = hex(
  "01000000 4000000000000000 | 00000000 0000000000000000 00000000 0000000000000000 " +
    "0000000000000000 | 0a000000 0a00000000000000 0a000000 0a00000000000000 0a00000000000000",
);
export const V5_GET_MIN_MAX = hex(
  "01000000 4000000000000000 | 00000000 0000000000000080 00000080 0000000000000080 " +
    "0000000000000080 | ffffff7f ffffffffffffff7f ffffff7f ffffffffffffff7f ffffffffffffff7f",
);
export const V5_GET_ACQ = cat(hex("07000000"), V5_GET.subarray(4));
export const V5_ACQ_REPLY = hex("00000000 0800000000000000 0f00000000000000");
export const V6_GET_RESPONSE = hex(
  "00000000 0000000000000000 | 23000000 01000000 0200000000000000 03000000 0400000000000000 " +
    "0500000000000000 616263 | 20000000 01000000 0200000000000000 03000000 0600000000000000 " +
    "0700000000000000 | 00000000 | 00000000 0800000000000000 0900000000000000",
);

/** V7's `R(k;v)`: `24000000` + 32-byte key + int32 value. */
export function v7Record(
  cid: number,
  mid: number,
  moid: number,
  cap: number,
  acq: number,
  value: number,
): Uint8Array {
  const out = new Uint8Array(40);
  const view = new DataView(out.buffer);
  view.setInt32(0, 36, true);
  view.setInt32(4, cid, true);
  view.setBigInt64(8, BigInt(mid), true);
  view.setInt32(16, moid, true);
  view.setBigInt64(20, BigInt(cap), true);
  view.setBigInt64(28, BigInt(acq), true);
  view.setInt32(36, value, true);
  return out;
}

const OK_HEAD = hex("00000000 0000000000000000");
const END_OK_16 = hex("00000000 | 00000000 0800000000000000 1000000000000000");
/** V7: one record, OK acq 16 (76 bytes). */
export const V7_ONE = cat(OK_HEAD, v7Record(1, 2, 3, 4, 5, 4), END_OK_16);
/** V7: two records, OK acq 16 (116 bytes). */
export const V7_TWO = cat(
  OK_HEAD,
  v7Record(1, 2, 3, 4, 5, 4),
  v7Record(2, 2, 3, 4, 5, 8),
  END_OK_16,
);
export const V7_BAD_REQUEST = hex("ffffffff 0000000000000000");
export const V7_MOCK_ERROR = hex("00000000 0000000000000000 00000000 ffffffff 0000000000000000");
export const V7_REFUSED = hex("ffffffff 0000000000000000");
export const V7_EXTRA_HEAD = cat(
  hex("00000000 0400000000000000 deadbeef"),
  hex("00000000"),
  hex(
    "00000000 0800000000000000 1000000000000000",
  ),
);
