// Payload types (tstorage_client.payload_type, shared/protocols/tstorage.md §3): bytes, unit,
// UTF-8, one-value structs, tuples, a user-defined type; each round-trips through the simulator.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { TStorageClient } from "../../src/tstorage/client.ts";
import { UnparseableEntityError } from "../../src/tstorage/errors.ts";
import {
  BytesPayloadType,
  type PayloadType,
  StructPayloadType,
  TuplePayloadType,
  UnitPayloadType,
  Utf8PayloadType,
} from "../../src/tstorage/payload.ts";
import { Key } from "../../src/tstorage/record.ts";
import { StructFormat } from "../../src/tstorage/struct_format.ts";
import { startTStorageSimulator, type TStorageSimulator } from "../fixtures/tstorage/simulator.ts";
import { hex, toHex } from "./_vectors.ts";

let sim: TStorageSimulator | undefined;
after(() => sim?.stop());

test("tstorage payload: the spec's tuple vector '<if?' (10, 12.0, True) is 0a000000 00004041 01", () => {
  const tuple = new TuplePayloadType<[number, number, boolean]>("<if?");
  assert.equal(toHex(tuple.toBytes([10, 12, true])), toHex(hex("0a000000 00004041 01")));
  assert.deepEqual(tuple.fromBytes(hex("0a000000 00004041 01")), [10, 12, true]);
  assert.equal(tuple.fromBytes(hex("0a000000 00004041")), undefined, "wrong length");
  assert.equal(tuple.size, 9);
});

test("tstorage payload: one-value structs decode only their exact size", () => {
  const i32 = new StructPayloadType<number>("<i");
  assert.equal(toHex(i32.toBytes(-2)), "feffffff");
  assert.equal(i32.fromBytes(hex("04000000")), 4);
  assert.equal(i32.fromBytes(hex("0400")), undefined);
  assert.equal(i32.fromBytes(hex("0400000000")), undefined);
  const i64 = new StructPayloadType<bigint>("<q");
  assert.equal(i64.fromBytes(hex("ffffffffffffff7f")), 2n ** 63n - 1n);
  assert.equal(i64.fromBytes(hex("04000000")), undefined, "the spec's <q for 4-byte payloads");
  assert.equal(new StructPayloadType<number>(">H").fromBytes(hex("0102")), 258);
  assert.equal(
    new StructPayloadType<number>("<d").fromBytes(new StructPayloadType<number>("<d").toBytes(0.1)),
    0.1,
  );
  assert.equal(toHex(new StructPayloadType<Uint8Array>("<4s").toBytes(hex("0102"))), "01020000");
  assert.equal(new StructPayloadType<boolean>("<?").fromBytes(hex("02")), true);
});

test("tstorage payload: struct formats and values are checked like Python's struct", () => {
  assert.throws(() => new StructPayloadType("<ii"), /TuplePayloadType/);
  assert.throws(() => new StructPayloadType("<n"), /not supported/);
  const i8 = new StructPayloadType<number>("<b");
  assert.throws(() => i8.toBytes(128), RangeError);
  assert.throws(() => i8.toBytes(1.5), TypeError);
  assert.throws(() => new StructPayloadType<bigint>("<Q").toBytes(-1n), RangeError);
  assert.throws(() => new StructPayloadType("<q").toBytes(1 as unknown as bigint), TypeError);
  assert.deepEqual(new StructFormat("<2xhx").unpack(hex("0000 0100 00")), [1], "pad bytes");
  assert.equal(new StructFormat("=3sB").size, 4);
});

test("tstorage payload: bytes copy, unit never fails, UTF-8 refuses invalid text", () => {
  const bytes = new BytesPayloadType();
  const source = hex("010203");
  const copy = bytes.fromBytes(source);
  assert.notEqual(copy.buffer, source.buffer);
  assert.throws(() => bytes.toBytes("x" as unknown as Uint8Array), TypeError);
  const unit = new UnitPayloadType();
  assert.equal(unit.toBytes({ anything: 1 }).length, 0);
  assert.equal(unit.fromBytes(hex("ff")), null);
  const text = new Utf8PayloadType();
  assert.equal(text.fromBytes(text.toBytes("żółw 🐢")), "żółw 🐢");
  assert.equal(text.fromBytes(hex("c3")), undefined);
});

interface Reading {
  celsius: number;
  ok: boolean;
}

/** A user-defined payload type: a fixed 9-byte layout. */
const readingType: PayloadType<Reading> = {
  name: "reading",
  toBytes: (r) => {
    const out = new Uint8Array(9);
    const v = new DataView(out.buffer);
    v.setFloat64(0, r.celsius, true);
    v.setUint8(8, r.ok ? 1 : 0);
    return out;
  },
  fromBytes: (b) => {
    if (b.length !== 9 || b[8] > 1) return undefined;
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    return { celsius: v.getFloat64(0, true), ok: b[8] === 1 };
  },
};

async function roundTrip<T>(payloadType: PayloadType<T>, values: T[]): Promise<T[]> {
  sim ??= await startTStorageSimulator({ port: 0 });
  const client = await TStorageClient.connect({ host: sim.host, port: sim.port, payloadType });
  try {
    const cid = 100 + sim.requests.put; // a fresh cid per payload type
    await client.put(values.map((value, i) => ({ key: new Key(cid, BigInt(i), 0, 0n), value })));
    const { data } = await client.get(
      new Key(cid, Key.min().mid, Key.min().moid, Key.min().cap, Key.min().acq),
      Key.max().with({ cid: cid + 1 }),
    );
    assert.deepEqual(data.map((r) => r.key.mid), values.map((_, i) => BigInt(i)));
    return data.map((r) => r.value);
  } finally {
    await client.close();
  }
}

test("tstorage payload: every payload type round-trips through the simulator", async () => {
  assert.deepEqual(await roundTrip(new BytesPayloadType(), [hex(""), hex("00ff")]), [
    hex(""),
    hex("00ff"),
  ]);
  assert.deepEqual(await roundTrip(new UnitPayloadType(), [null, null]), [null, null]);
  assert.deepEqual(await roundTrip(new Utf8PayloadType(), ["", "21.5 °C"]), ["", "21.5 °C"]);
  assert.deepEqual(await roundTrip(new StructPayloadType<number>("<i"), [-1, 2 ** 31 - 1]), [
    -1,
    2 ** 31 - 1,
  ]);
  assert.deepEqual(await roundTrip(new StructPayloadType<bigint>("<q"), [-(2n ** 63n), 42n]), [
    -(2n ** 63n),
    42n,
  ]);
  assert.deepEqual(await roundTrip(new StructPayloadType<number>("<d"), [Math.PI, -0.5]), [
    Math.PI,
    -0.5,
  ]);
  assert.deepEqual(
    await roundTrip(new TuplePayloadType<[number, number, boolean]>("<if?"), [[10, 12, true], [
      -1,
      0.5,
      false,
    ]]),
    [[10, 12, true], [-1, 0.5, false]],
  );
  const readings = [{ celsius: 21.5, ok: true }, { celsius: -3, ok: false }];
  assert.deepEqual(await roundTrip(readingType, readings), readings);
});

test("tstorage payload: a payload the type refuses fails the GET as UNPARSEABLE_ENTITY", async () => {
  sim ??= await startTStorageSimulator({ port: 0 });
  sim.records.push({ cid: 7, mid: 1n, moid: 0, cap: 0n, acq: 1n, payload: hex("0102") });
  const client = await TStorageClient.connect({
    host: sim.host,
    port: sim.port,
    payloadType: readingType,
  });
  try {
    const error = await client.get(new Key(7, 0n, 0, 0n, 0n), new Key(8, 9n, 9, 9n, 9n)).catch((
      e,
    ) => e);
    assert.ok(error instanceof UnparseableEntityError, String(error));
    assert.match(error.message, /does not decode as reading/);
  } finally {
    await client.close();
  }
});
