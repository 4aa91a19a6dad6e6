// Every byte vector and hash of pegasus.md §4 and §7 as tests of src/pegasus/ (crc64, key
// schema, THFT framing, struct codecs), plus fast-check properties of the decoders.

import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { RemoteProtocolError } from "../../src/core/errors.ts";
import { crc64 } from "../../src/pegasus/crc64.ts";
import {
  decodeKey,
  encodeKey,
  keyHash,
  nextKeyAfterHashKey,
  partitionIndex,
} from "../../src/pegasus/key_schema.ts";
import { decodeResponseFrame, decodeResult, encodeRequestFrame } from "../../src/pegasus/frame.ts";
import {
  blobArgs,
  multiRemoveArgs,
  queryConfigArgs,
  updateArgs,
} from "../../src/pegasus/requests.ts";
import {
  decodeKvsResponse,
  decodeQueryConfigResponse,
  decodeReadResponse,
  decodeRpcAddress,
} from "../../src/pegasus/responses.ts";
import { ThriftReader } from "../../src/pegasus/thrift.ts";

const te = new TextEncoder();
const enc = (s: string): Uint8Array => te.encode(s);
export const fromHex = (text: string): Uint8Array =>
  new Uint8Array((text.replace(/[^0-9a-f]/gi, "").match(/../g) ?? []).map((h) => parseInt(h, 16)));
const hex = (b: Uint8Array): string =>
  Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");

test("pegasus crc64: the spec's vectors (§4.2)", () => {
  const vectors: [string, bigint][] = [
    ["", 0x0000000000000000n],
    ["h", 0x555D9839ECEA8B30n],
    ["a", 0x8C2F8445B4CBFC3Cn],
    ["hello", 0x3377857006524257n],
    ["123456789", 0xAE8B14860A799888n],
    ["s", 0x0A129AEE5C1E814Fn],
    ["temp", 0x732E97FFFE893940n],
  ];
  for (const [text, expected] of vectors) assert.equal(crc64(enc(text)), expected, text);
  assert.equal(crc64(enc("xhellox"), 1, 6), 0x3377857006524257n);
});

test("pegasus crc64 matches a bigint reference implementation on random input", () => {
  const reference = (bytes: Uint8Array): bigint => {
    let crc = 0xffffffffffffffffn;
    for (const b of bytes) {
      crc ^= BigInt(b);
      for (let i = 0; i < 8; i++) crc = crc & 1n ? (crc >> 1n) ^ 0x9A6C9329AC4BC9B5n : crc >> 1n;
    }
    return crc ^ 0xffffffffffffffffn;
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => crc64(b) === reference(b)));
});

test("pegasus key schema: composite keys, next key, hashing and partitions (§4)", () => {
  assert.equal(hex(encodeKey(enc("h"), enc("s"))), "00 01 68 73");
  assert.equal(hex(encodeKey(enc(""), enc("s"))), "00 00 73");
  const decoded = decodeKey(fromHex("00 01 68 73"))!;
  assert.equal(hex(decoded.hashKey), "68");
  assert.equal(hex(decoded.sortKey), "73");
  assert.equal(decodeKey(fromHex("ff ff 00")), undefined);
  assert.equal(decodeKey(fromHex("00 05 68")), undefined);
  assert.equal(decodeKey(fromHex("00")), undefined);
  assert.equal(hex(nextKeyAfterHashKey(enc("h"))!), "00 01 69");
  assert.equal(hex(nextKeyAfterHashKey(fromHex("61 ff"))!), "00 02 62");
  assert.throws(() => encodeKey(new Uint8Array(0xffff), enc("")), RangeError);
  assert.equal(encodeKey(new Uint8Array(0xfffe), enc("")).length, 0x10000);
  // "h" → 0 mod 8; "hash_key" → 5; empty hash key hashes the sort key "s" → 7.
  assert.equal(partitionIndex(keyHash(enc("h"), enc("x")), 8), 0);
  assert.equal(partitionIndex(keyHash(enc("hash_key"), enc("x")), 8), 5);
  assert.equal(partitionIndex(keyHash(enc(""), enc("s")), 8), 7);
  assert.equal(partitionIndex(0xffffffffffffffffn, 3), Number(0xffffffffffffffffn % 3n));
});

test("pegasus key schema: decodeKey inverts encodeKey", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 50 }), (h, s) => {
      const d = decodeKey(encodeKey(h, s))!;
      return hex(d.hashKey) === hex(h) && hex(d.sortKey) === hex(s);
    }),
  );
});

const GET_V0 = `
54 48 46 54 00 00 00 00 00 00 00 30 00 00 00 00 00 00 00 29 00 00 00 00 00 00 00 01 00 00 00 00
00 00 03 e8 00 00 1e ef 55 5d 98 39 ec ea 8b 30 80 01 00 01 00 00 00 11 52 50 43 5f 52 52 44 42
5f 52 52 44 42 5f 47 45 54 00 00 00 01 0c 00 01 00 00 00 04 00 01 68 73 00`;
const get = (headerVersion: 0 | 1, seqid = 1): Uint8Array =>
  encodeRequestFrame({
    rpc: "RPC_RRDB_RRDB_GET",
    seqid,
    args: blobArgs(encodeKey(enc("h"), enc("s"))),
    appId: 1,
    partitionIndex: 0,
    timeoutMs: 1000,
    partitionHash: crc64(enc("h")),
    headerVersion,
  });

test("pegasus vector 7.1: get(h, s) with a v0 header, 89 bytes", () => {
  const bytes = get(0);
  assert.equal(bytes.length, 89);
  assert.equal(hex(bytes), hex(fromHex(GET_V0)));
});

test("pegasus vector 7.1: the same get with a v1 header, 94 bytes", () => {
  const v1 = fromHex(`54 48 46 54 00 00 00 01 00 00 00 25 00 00 00 29
    08 00 01 00 00 00 01 08 00 02 00 00 00 00 08 00 03 00 00 03 e8 0a 00 04 55 5d 98 39 ec ea 8b 30
    02 00 05 00 00`);
  const bytes = get(1);
  assert.equal(bytes.length, 94);
  assert.equal(hex(bytes), hex(new Uint8Array([...v1, ...fromHex(GET_V0).subarray(48)])));
});

test("pegasus vector 7.2: query_cfg for table temp, 122 bytes", () => {
  const bytes = encodeRequestFrame({
    rpc: "RPC_CM_QUERY_PARTITION_CONFIG_BY_INDEX",
    seqid: 1,
    args: queryConfigArgs("temp"),
    appId: 0,
    partitionIndex: 0,
    timeoutMs: 5000,
    partitionHash: 0n,
  });
  const expected = fromHex(`
    54 48 46 54 00 00 00 00 00 00 00 30 00 00 00 00 00 00 00 4a 00 00 00 00 00 00 00 00 00 00 00 00
    00 00 13 88 00 00 00 00 00 00 00 00 00 00 00 00 80 01 00 01 00 00 00 26 52 50 43 5f 43 4d 5f 51
    55 45 52 59 5f 50 41 52 54 49 54 49 4f 4e 5f 43 4f 4e 46 49 47 5f 42 59 5f 49 4e 44 45 58 00 00
    00 01 0c 00 01 0b 00 01 00 00 00 04 74 65 6d 70 0f 00 02 08 00 00 00 00 00 00`);
  assert.equal(bytes.length, 122);
  assert.equal(hex(bytes), hex(expected));
});

test("pegasus vector 7.3: put(h, s, v) with no TTL, seqid 2, 108 bytes", () => {
  const bytes = encodeRequestFrame({
    rpc: "RPC_RRDB_RRDB_PUT",
    seqid: 2,
    args: updateArgs(encodeKey(enc("h"), enc("s")), enc("v"), 0),
    appId: 1,
    partitionIndex: 0,
    timeoutMs: 1000,
    partitionHash: crc64(enc("h")),
  });
  const header = fromHex(GET_V0).slice(0, 48);
  header[19] = 0x3c;
  const body = fromHex(`80 01 00 01 00 00 00 11 ${hex(enc("RPC_RRDB_RRDB_PUT"))} 00 00 00 02
    0c 00 01 0c 00 01 00 00 00 04 00 01 68 73 0c 00 02 00 00 00 01 76 08 00 03 00 00 00 00 00 00`);
  assert.equal(bytes.length, 108);
  assert.equal(hex(bytes), hex(new Uint8Array([...header, ...body])));
});

export const GET_REPLY = fromHex(`
00 00 00 67 00 00 00 06 45 52 52 5f 4f 4b 80 01 00 02 00 00 00 15 52 50 43 5f 52 52 44 42 5f 52
52 44 42 5f 47 45 54 5f 41 43 4b 00 00 00 01 0c 00 00 08 00 01 00 00 00 00 0c 00 02 00 00 00 01
76 08 00 03 00 00 00 01 08 00 04 00 00 00 00 0b 00 06 00 00 00 0f 31 32 37 2e 30 2e 30 2e 31 3a
33 34 38 30 31 00 00`);

test("pegasus vector 7.4: get reply with value v from 127.0.0.1:34801, and not found", () => {
  assert.equal(GET_REPLY.length, 103);
  const frame = decodeResponseFrame(GET_REPLY);
  assert.deepEqual([frame.errorName, frame.rpc, frame.seqid], [
    "ERR_OK",
    "RPC_RRDB_RRDB_GET_ACK",
    1,
  ]);
  const reply = decodeResult(frame.body!, decodeReadResponse);
  assert.deepEqual(
    { ...reply, value: hex(reply.value) },
    {
      error: 0,
      value: "76",
      appId: 1,
      partitionIndex: 0,
      server: "127.0.0.1:34801",
      ttlSeconds: 0,
    },
  );
  // Not found: error 1, empty blob; 102 bytes, total 0x66.
  const missing = new Uint8Array([
    ...GET_REPLY.subarray(0, 60),
    0,
    0,
    0,
    0,
    ...GET_REPLY.subarray(65),
  ]);
  missing[3] = 0x66;
  missing[56] = 1; // error=1
  assert.equal(missing.length, 102);
  const nf = decodeResult(decodeResponseFrame(missing).body!, decodeReadResponse);
  assert.equal(nf.error, 1);
  assert.equal(nf.value.length, 0);
  assert.equal(nf.server, "127.0.0.1:34801");
});

export const REJECTION = fromHex(`00 00 00 3a 00 00 00 11 ${hex(enc("ERR_INVALID_STATE"))}
  80 01 00 02 00 00 00 15 ${hex(enc("RPC_RRDB_RRDB_GET_ACK"))} 00 00 00 01`);

test("pegasus vector 7.5: a replica rejection without a body, 58 bytes", () => {
  assert.equal(REJECTION.length, 58);
  const frame = decodeResponseFrame(REJECTION);
  assert.equal(frame.errorName, "ERR_INVALID_STATE");
  assert.equal(frame.seqid, 1);
  assert.equal(frame.body, undefined);
});

export const QUERY_CFG_REPLY = fromHex(`
00 00 01 06 00 00 00 06 45 52 52 5f 4f 4b 80 01 00 02 00 00 00 2a 52 50 43 5f 43 4d 5f 51 55 45
52 59 5f 50 41 52 54 49 54 49 4f 4e 5f 43 4f 4e 46 49 47 5f 42 59 5f 49 4e 44 45 58 5f 41 43 4b
00 00 00 01 0c 00 00 0c 00 01 00 00 00 06 45 52 52 5f 4f 4b 08 00 02 00 00 00 02 08 00 03 00 00
00 02 02 00 04 01 0f 00 05 0c 00 00 00 02 0c 00 01 00 00 00 00 00 00 00 02 0a 00 02 00 00 00 00
00 00 00 03 08 00 03 00 00 00 03 0c 00 04 7f 00 00 01 87 f1 00 01 0f 00 05 0c 00 00 00 00 0f 00
06 0c 00 00 00 00 0a 00 07 00 00 00 00 00 00 00 00 08 00 08 00 00 00 00 00 0c 00 01 00 00 00 01
00 00 00 02 0a 00 02 00 00 00 00 00 00 00 03 08 00 03 00 00 00 03 0c 00 04 7f 00 00 01 87 f2 00
01 0f 00 05 0c 00 00 00 00 0f 00 06 0c 00 00 00 00 0a 00 07 00 00 00 00 00 00 00 00 08 00 08 00
00 00 00 00 00 00`);

test("pegasus vector 7.6: query_cfg reply with two partitions, 262 bytes", () => {
  assert.equal(QUERY_CFG_REPLY.length, 262);
  const frame = decodeResponseFrame(QUERY_CFG_REPLY);
  assert.equal(frame.rpc, "RPC_CM_QUERY_PARTITION_CONFIG_BY_INDEX_ACK");
  const cfg = decodeResult(frame.body!, decodeQueryConfigResponse);
  assert.equal(cfg.err, "ERR_OK");
  assert.deepEqual([cfg.appId, cfg.partitionCount, cfg.isStateful], [2, 2, true]);
  assert.deepEqual(cfg.partitions.map((p) => [p.appId, p.partitionIndex, p.ballot, p.primary]), [
    [2, 0, 3n, "127.0.0.1:34801"],
    [2, 1, 3n, "127.0.0.1:34802"],
  ]);
  assert.equal(cfg.partitions[0].maxReplicaCount, 3);
});

test("pegasus vector 7.6 variant: a newer server's hp_primary (field 9) parses in place", () => {
  // Insert hp_primary "node1":34801 before the STOP of partition 0 (offset of its STOP byte).
  const hp = fromHex("0c 00 09 00 00 00 05 6e 6f 64 65 31 87 f1 01");
  const marker = fromHex("08 00 08 00 00 00 00 00"); // partition_flags + STOP
  const i = indexOf(QUERY_CFG_REPLY, marker) + 7;
  const bytes = new Uint8Array([
    ...QUERY_CFG_REPLY.subarray(0, i),
    ...hp,
    ...QUERY_CFG_REPLY.subarray(i),
  ]);
  new DataView(bytes.buffer).setUint32(0, bytes.length);
  const cfg = decodeResult(decodeResponseFrame(bytes).body!, decodeQueryConfigResponse);
  assert.equal(cfg.partitions[0].hpPrimary, "node1:34801");
  assert.equal(cfg.partitions[1].primary, "127.0.0.1:34802");
});

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

test("pegasus rpc_address and gpid placeholders (§1.6)", () => {
  assert.equal(decodeRpcAddress(0x7F00000187F10001n), "127.0.0.1:34801");
  assert.equal(decodeRpcAddress(0n), undefined);
  const w = encodeRequestFrame({
    rpc: "X",
    seqid: 1,
    args: multiRemoveArgs(enc("h"), [enc("a")]),
    appId: 0,
    partitionIndex: 0,
    timeoutMs: 0,
    partitionHash: 0n,
  });
  // list<blob> elements are raw binaries under a STRUCT element type.
  assert.ok(hex(w).includes("0f 00 02 0c 00 00 00 01 00 00 00 01 61 0a 00 03"));
});

test("pegasus decoders: schema mismatches are skipped, truncation throws RemoteProtocolError", () => {
  // error as i32, an unknown i64 field 9, then kvs.
  const body = fromHex("08 00 01 00 00 00 07 0a 00 09 00 00 00 00 00 00 00 01 00");
  const reply = decodeKvsResponse(false, new ThriftReader(body));
  assert.equal(reply.error, 7);
  for (let cut = 0; cut < body.length - 1; cut++) {
    assert.throws(
      () => decodeKvsResponse(false, new ThriftReader(body, 0, cut)),
      RemoteProtocolError,
    );
  }
});

test("pegasus fuzz: random and mutated frames decode or throw RemoteProtocolError", () => {
  const decoders: ((r: ThriftReader) => unknown)[] = [
    decodeReadResponse,
    decodeQueryConfigResponse,
    (r: ThriftReader) => decodeKvsResponse(true, r),
  ];
  const tryAll = (bytes: Uint8Array): void => {
    try {
      const frame = decodeResponseFrame(bytes);
      if (frame.body) {
        for (const d of decoders) {
          const r = new ThriftReader(frame.body.bytes, frame.body.pos, frame.body.end);
          try {
            decodeResult(r, d);
          } catch (error) {
            if (!(error instanceof RemoteProtocolError)) throw error;
          }
        }
      }
    } catch (error) {
      if (!(error instanceof RemoteProtocolError)) throw error;
    }
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => tryAll(b)), { numRuns: 2000 });
  const seeds = [GET_REPLY, QUERY_CFG_REPLY, REJECTION];
  fc.assert(
    fc.property(
      fc.constantFrom(...seeds),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
      (seed, edits) => {
        const b = seed.slice();
        for (const [at, v] of edits) b[at % b.length] = v;
        tryAll(b);
      },
    ),
    { numRuns: 3000 },
  );
});
