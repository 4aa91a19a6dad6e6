// Tests of the protobuf wire codec and the etcd messages (src/etcd/proto/): wire-level vectors,
// and every message cross-checked both ways against protobufjs reading etcd's own .proto files.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import protobuf from "protobufjs";
import { RemoteProtocolError } from "../../src/core/errors.ts";
import * as M from "../../src/etcd/proto/messages.ts";
import {
  decodeProto,
  encodeProto,
  type MessageSpec,
  ProtoReader,
  zigzagDecode,
  zigzagEncode,
} from "../../src/etcd/proto/wire.ts";
import { decodeWatchResponse } from "../../src/etcd/proto/watch_response.ts";

const te = new TextEncoder();
const b = (s: string): Uint8Array => te.encode(s);
const hex = (u: Uint8Array): string => [...u].map((x) => x.toString(16).padStart(2, "0")).join("");

const root = new protobuf.Root();
for (const f of ["kv.proto", "auth.proto", "rpc.proto"]) {
  const url = new URL(`../../node_modules/etcd3/proto/${f}`, import.meta.url);
  protobuf.parse(readFileSync(url, "utf8"), root, { keepCase: true });
}
root.resolveAll();

/** Comparable form: keys without case or underscores, bigints and bytes as strings. */
function norm(v: unknown): unknown {
  if (v === null || v === undefined) return undefined;
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "number") return String(v);
  if (v instanceof Uint8Array) return hex(v);
  if (Array.isArray(v)) return v.map(norm);
  if (typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const n = norm(x);
      if (n !== undefined) out[k.replace(/_/g, "").toLowerCase()] = n;
    }
    return out;
  }
  return v;
}

/** protobufjs's view of bytes it decoded, in our comparable form. */
function oracleDecode(type: string, bytes: Uint8Array): unknown {
  const T = root.lookupType(type);
  return norm(
    fixBytes(T.toObject(T.decode(bytes), { longs: String, defaults: true, arrays: true })),
  );
}

function fixBytes(v: unknown): unknown {
  if (v instanceof Uint8Array) return new Uint8Array(v);
  if (Array.isArray(v)) return v.map(fixBytes);
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fixBytes(x)]));
  }
  return v;
}

/** Our object with protobufjs's names, for it to encode. */
function toOracle(type: protobuf.Type, v: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    const key = Object.keys(v).find((k) =>
      k.toLowerCase() === field.name.replace(/_/g, "").toLowerCase()
    );
    if (key === undefined || v[key] === undefined) continue;
    const x = v[key];
    const conv = (y: unknown): unknown => {
      if (field.resolvedType instanceof protobuf.Type) {
        return toOracle(field.resolvedType, y as Record<string, unknown>);
      }
      return typeof y === "bigint" ? y.toString() : y;
    };
    out[field.name] = Array.isArray(x) ? x.map(conv) : conv(x);
  }
  return out;
}

const kv = {
  key: b("k"),
  createRevision: 2n,
  modRevision: 9n,
  version: 3n,
  value: b("v"),
  lease: 7587n,
};
const hdr = {
  clusterId: 0xffffffffffffffffn,
  memberId: 1234567890123n,
  revision: 42n,
  raftTerm: 3n,
};
const SAMPLES: [string, MessageSpec, Record<string, unknown>][] = [
  ["etcdserverpb.ResponseHeader", M.ResponseHeader, hdr],
  ["mvccpb.KeyValue", M.KeyValue, kv],
  ["mvccpb.Event", M.Event, { type: 1, kv, prevKv: kv }],
  ["etcdserverpb.RangeRequest", M.RangeRequest, {
    key: b("a"),
    rangeEnd: b("b"),
    limit: 10n,
    revision: 5n,
    sortOrder: 2,
    sortTarget: 3,
    serializable: true,
    keysOnly: true,
    countOnly: true,
    minModRevision: 1n,
    maxModRevision: 2n,
    minCreateRevision: 3n,
    maxCreateRevision: 4n,
  }],
  ["etcdserverpb.RangeResponse", M.RangeResponse, {
    header: hdr,
    kvs: [kv, kv],
    more: true,
    count: 2n,
  }],
  ["etcdserverpb.PutRequest", M.PutRequest, {
    key: b("k"),
    value: new Uint8Array([0, 255]),
    lease: 5n,
    prevKv: true,
    ignoreValue: true,
    ignoreLease: true,
  }],
  ["etcdserverpb.PutResponse", M.PutResponse, { header: hdr, prevKv: kv }],
  ["etcdserverpb.DeleteRangeRequest", M.DeleteRangeRequest, {
    key: b("k"),
    rangeEnd: new Uint8Array([0]),
    prevKv: true,
  }],
  ["etcdserverpb.DeleteRangeResponse", M.DeleteRangeResponse, {
    header: hdr,
    deleted: 2n,
    prevKvs: [kv],
  }],
  ["etcdserverpb.Compare", M.Compare, {
    result: 3,
    target: 0,
    key: b("k"),
    version: 0n,
    rangeEnd: b("z"),
  }],
  ["etcdserverpb.Compare", M.Compare, { result: 1, target: 3, key: b("k"), value: b("") }],
  ["etcdserverpb.TxnRequest", M.TxnRequest, {
    compare: [{ result: 0, target: 2, key: b("k"), modRevision: 4n }],
    success: [{ requestPut: { key: b("k"), value: b("v") } }, { requestRange: { key: b("k") } }],
    failure: [{ requestDeleteRange: { key: b("k") } }, {
      requestTxn: { compare: [], success: [{ requestRange: { key: b("x") } }] },
    }],
  }],
  ["etcdserverpb.TxnResponse", M.TxnResponse, {
    header: hdr,
    succeeded: true,
    responses: [
      { responsePut: { header: hdr } },
      { responseRange: { header: hdr, kvs: [kv], more: false, count: 1n } },
      { responseDeleteRange: { deleted: 1n } },
      { responseTxn: { succeeded: false } },
    ],
  }],
  ["etcdserverpb.CompactionRequest", M.CompactionRequest, { revision: 100n, physical: true }],
  ["etcdserverpb.CompactionResponse", M.HeaderOnly, { header: hdr }],
  ["etcdserverpb.LeaseGrantRequest", M.LeaseGrantRequest, { ttl: 60n, id: 0x7fffffffffffffffn }],
  ["etcdserverpb.LeaseGrantResponse", M.LeaseGrantResponse, {
    header: hdr,
    id: 77n,
    ttl: 60n,
    error: "é",
  }],
  ["etcdserverpb.LeaseRevokeRequest", M.LeaseId, { id: 77n }],
  ["etcdserverpb.LeaseKeepAliveRequest", M.LeaseId, { id: 77n }],
  ["etcdserverpb.LeaseKeepAliveResponse", M.LeaseKeepAliveResponse, {
    header: hdr,
    id: 77n,
    ttl: 59n,
  }],
  ["etcdserverpb.LeaseTimeToLiveRequest", M.LeaseTimeToLiveRequest, { id: 77n, keys: true }],
  ["etcdserverpb.LeaseTimeToLiveResponse", M.LeaseTimeToLiveResponse, {
    header: hdr,
    id: 77n,
    ttl: -1n,
    grantedTtl: 60n,
    keys: [b("a"), b("b")],
  }],
  ["etcdserverpb.LeaseLeasesResponse", M.LeaseLeasesResponse, {
    header: hdr,
    leases: [{ id: 1n }, { id: 2n }],
  }],
  ["etcdserverpb.WatchRequest", M.WatchRequest, {
    createRequest: {
      key: b("a"),
      rangeEnd: b("b"),
      startRevision: 3n,
      progressNotify: true,
      filters: [0, 1],
      prevKv: true,
      watchId: 5n,
      fragment: true,
    },
  }],
  ["etcdserverpb.WatchRequest", M.WatchRequest, { cancelRequest: { watchId: 5n } }],
  ["etcdserverpb.WatchRequest", M.WatchRequest, { progressRequest: {} }],
  ["etcdserverpb.WatchResponse", M.WatchResponse, {
    header: hdr,
    watchId: 5n,
    created: true,
    canceled: true,
    compactRevision: 8n,
    cancelReason: "gone",
    fragment: true,
    events: [{ type: 0, kv }, { type: 1, kv, prevKv: kv }],
  }],
  ["etcdserverpb.AuthenticateRequest", M.AuthenticateRequest, { name: "root", password: "pw" }],
  ["etcdserverpb.AuthenticateResponse", M.AuthenticateResponse, { header: hdr, token: "t.1" }],
  ["etcdserverpb.StatusResponse", M.StatusResponse, {
    header: hdr,
    version: "3.4.23",
    dbSize: 20480n,
    leader: 9n,
    raftIndex: 10n,
    raftTerm: 2n,
    raftAppliedIndex: 10n,
    errors: ["x"],
    dbSizeInUse: 100n,
    isLearner: true,
  }],
  ["etcdserverpb.MemberListResponse", M.MemberListResponse, {
    header: hdr,
    members: [{
      id: 1n,
      name: "n1",
      peerUrls: ["http://a:2380"],
      clientUrls: ["http://a:2379", "http://b:2379"],
      isLearner: false,
    }],
  }],
];

for (const [type, spec, sample] of SAMPLES) {
  test(`protobuf ${type}: ours encodes what protobufjs decodes from etcd's .proto, and back`, () => {
    const ours = encodeProto(spec, sample);
    assert.deepEqual(oracleDecode(type, ours), norm(decodeProto(spec, ours)));
    // Decoding then encoding again gives the same bytes (defaults omitted, oneofs kept).
    assert.deepEqual(encodeProto(spec, decodeProto(spec, ours)), ours, "round trip");
    const T = root.lookupType(type);
    const theirs = T.encode(T.fromObject(toOracle(T, sample))).finish();
    assert.deepEqual(norm(decodeProto(spec, theirs)), norm(decodeProto(spec, ours)));
  });
}

test("protobuf wire: varint, zigzag, negative int64 as 10 bytes, packed and unpacked repeated", () => {
  assert.equal(hex(encodeProto([{ name: "a", no: 1, kind: "int64" }], { a: 150n })), "089601");
  assert.equal(
    hex(encodeProto([{ name: "a", no: 1, kind: "int64" }], { a: -1n })),
    "08ffffffffffffffffff01",
  );
  assert.deepEqual(
    decodeProto(
      [{ name: "a", no: 1, kind: "int64" }],
      new Uint8Array([8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1]),
    ),
    { a: -1n },
  );
  for (const v of [0n, -1n, 1n, -2n, 2n ** 63n - 1n, -(2n ** 63n)]) {
    assert.equal(zigzagDecode(zigzagEncode(v)), v);
  }
  assert.equal(zigzagEncode(-1n), 1n);
  assert.equal(hex(encodeProto([{ name: "s", no: 2, kind: "sint64" }], { s: -2n })), "1003");
  assert.equal(
    hex(
      encodeProto([{ name: "f", no: 3, kind: "fixed64" }, { name: "g", no: 4, kind: "fixed32" }], {
        f: 1n,
        g: 2,
      }),
    ),
    "1901000000000000002502000000",
  );
  const rep: MessageSpec = [{ name: "r", no: 4, kind: "int32", repeated: true }];
  assert.equal(hex(encodeProto(rep, { r: [3, 270, 86942] })), "2206038e029ea705");
  assert.deepEqual(decodeProto(rep, new Uint8Array([0x20, 3, 0x20, 1])), { r: [3, 1] }); // unpacked
  // Unknown fields of every wire type are skipped.
  const spec: MessageSpec = [{ name: "a", no: 1, kind: "int64" }];
  const withUnknown = new Uint8Array([
    0x10,
    5,
    0x19,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    0x22,
    2,
    9,
    9,
    0x2d,
    1,
    2,
    3,
    4,
    8,
    7,
  ]);
  assert.deepEqual(decodeProto(spec, withUnknown), { a: 7n });
  assert.equal(new ProtoReader(new Uint8Array([0xac, 0x02])).varint(), 300n);
});

test("protobuf wire: malformed input is RemoteProtocolError (fuzz over every etcd response)", () => {
  const specs = SAMPLES.map(([, spec, sample]) => [spec, encodeProto(spec, sample)] as const);
  fc.assert(
    fc.property(
      fc.nat(specs.length - 1),
      fc.oneof(
        fc.uint8Array({ maxLength: 64 }).map((x) => ({ bytes: x, mutate: false })),
        fc.tuple(fc.nat(500), fc.integer({ min: 0, max: 255 })).map(([i, v]) => ({
          bytes: new Uint8Array([i % 256, v]),
          mutate: true,
        })),
      ),
      (which, input) => {
        const [spec, valid] = specs[which];
        let bytes = input.bytes;
        if (input.mutate && valid.length > 0) {
          bytes = valid.slice();
          bytes[input.bytes[0] % valid.length] = input.bytes[1];
        }
        try {
          decodeProto(spec, bytes);
        } catch (error) {
          assert.ok(error instanceof RemoteProtocolError, String(error));
        }
        // Every truncation of a valid message decodes or fails cleanly too.
        for (let i = 0; i < valid.length; i++) {
          try {
            decodeProto(spec, valid.subarray(0, i));
          } catch (error) {
            assert.ok(error instanceof RemoteProtocolError, String(error));
          }
        }
      },
    ),
    { numRuns: 300 },
  );
});

test("protobuf encode: wrong value types are TypeError before anything is sent", () => {
  assert.throws(() => encodeProto(M.PutRequest, { key: "k" }), TypeError);
  assert.throws(() => encodeProto(M.LeaseId, { id: 1.5 }), TypeError);
});

/** What a decoder gives for `bytes`: its result, or the message of its RemoteProtocolError. */
function outcome(decode: (bytes: Uint8Array) => unknown, bytes: Uint8Array): unknown {
  try {
    return norm(decode(bytes));
  } catch (error) {
    assert.ok(error instanceof RemoteProtocolError, String(error));
    return `RemoteProtocolError: ${error.message}`;
  }
}

test("decodeWatchResponse: the same result or error as decodeProto(WatchResponse), fuzzed", () => {
  const sample = SAMPLES.find(([type]) => type === "etcdserverpb.WatchResponse")![2];
  const deleted = { type: 1, kv: { ...kv, value: new Uint8Array(0), lease: 0n } };
  const valid = encodeProto(M.WatchResponse, {
    ...sample,
    events: [...(sample.events as unknown[]), deleted],
  });
  const generic = (bytes: Uint8Array) => decodeProto(M.WatchResponse, bytes);
  assert.deepEqual(
    norm(decodeWatchResponse(valid)),
    oracleDecode(
      "etcdserverpb.WatchResponse",
      valid,
    ),
  );
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
      fc.nat(),
      (edits, cut) => {
        const bytes = valid.slice(0, valid.length - (cut % 8));
        for (const [at, v] of edits) bytes[at % bytes.length] = v;
        assert.deepEqual(outcome(decodeWatchResponse, bytes), outcome(generic, bytes));
      },
    ),
    { numRuns: 2000 },
  );
});

test("protobuf wire: integers around the 2^49 fast-path bound decode as protobufjs does", () => {
  const spec: MessageSpec = [
    { name: "a", no: 1, kind: "int64" },
    { name: "b", no: 2, kind: "int32" },
    { name: "c", no: 3, kind: "uint32" },
    { name: "d", no: 4, kind: "bool" },
    { name: "e", no: 5, kind: "uint64" },
  ];
  const T = new protobuf.Type("Ints")
    .add(new protobuf.Field("a", 1, "int64"))
    .add(new protobuf.Field("b", 2, "int32"))
    .add(new protobuf.Field("c", 3, "uint32"))
    .add(new protobuf.Field("d", 4, "bool"))
    .add(new protobuf.Field("e", 5, "uint64"));
  const near = (bit: bigint) => fc.bigInt({ min: (1n << bit) - 3n, max: (1n << bit) + 3n });
  const int64 = fc.oneof(
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
    near(49n),
    near(56n),
  );
  fc.assert(
    fc.property(
      int64,
      fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      fc.oneof(fc.nat({ max: 2 ** 32 - 1 }), fc.integer({ min: 2 ** 28 - 3, max: 2 ** 28 + 3 })),
      fc.boolean(),
      fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), near(49n)),
      (a, b, c, d, e) => {
        const bytes = T.encode(T.fromObject({ a: String(a), b, c, d, e: String(e) })).finish();
        assert.deepEqual(decodeProto(spec, bytes), { a, b, c, d, e });
        assert.deepEqual(decodeProto(spec, encodeProto(spec, { a, b, c, d, e })), {
          a,
          b,
          c,
          d,
          e,
        });
      },
    ),
    { numRuns: 1000 },
  );
});
