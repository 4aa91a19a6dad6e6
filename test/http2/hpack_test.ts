// Tests of HPACK (src/http2/hpack*.ts, huffman.ts) with the examples of RFC 7541 Appendix C
// (C.1-C.6, decoded whole and encoded back), table size updates, limits and fast-check fuzz.

import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ByteWriter } from "../../src/core/bytes.ts";
import { RemoteProtocolError } from "../../src/core/errors.ts";
import {
  decodeInteger,
  encodeInteger,
  type HeaderField,
  HpackDecoder,
  HpackEncoder,
} from "../../src/http2/hpack.ts";
import { huffmanCode, huffmanDecode, huffmanEncode } from "../../src/http2/huffman.ts";

const hex = (s: string): Uint8Array =>
  new Uint8Array((s.replace(/\s+/g, "").match(/../g) ?? []).map((b) => parseInt(b, 16)));

const REQ1: HeaderField[] = [
  [":method", "GET"],
  [":scheme", "http"],
  [":path", "/"],
  [":authority", "www.example.com"],
];
const REQ2: HeaderField[] = [...REQ1, ["cache-control", "no-cache"]];
const REQ3: HeaderField[] = [
  [":method", "GET"],
  [":scheme", "https"],
  [":path", "/index.html"],
  [":authority", "www.example.com"],
  ["custom-key", "custom-value"],
];
const RES1: HeaderField[] = [
  [":status", "302"],
  ["cache-control", "private"],
  ["date", "Mon, 21 Oct 2013 20:13:21 GMT"],
  ["location", "https://www.example.com"],
];
const RES2: HeaderField[] = [[":status", "307"], ...RES1.slice(1)];
const RES3: HeaderField[] = [
  [":status", "200"],
  ["cache-control", "private"],
  ["date", "Mon, 21 Oct 2013 20:13:22 GMT"],
  ["location", "https://www.example.com"],
  ["content-encoding", "gzip"],
  ["set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"],
];

interface Sequence {
  name: string;
  tableSize: number;
  huffman: boolean;
  steps: { fields: HeaderField[]; bytes: string; tableSize: number }[];
}

const SEQUENCES: Sequence[] = [
  {
    name: "C.3 requests without Huffman",
    tableSize: 4096,
    huffman: false,
    steps: [
      { fields: REQ1, bytes: "828684410f7777772e6578616d706c652e636f6d", tableSize: 57 },
      { fields: REQ2, bytes: "828684be58086e6f2d6361636865", tableSize: 110 },
      {
        fields: REQ3,
        bytes: "828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565",
        tableSize: 164,
      },
    ],
  },
  {
    name: "C.4 requests with Huffman",
    tableSize: 4096,
    huffman: true,
    steps: [
      { fields: REQ1, bytes: "828684418cf1e3c2e5f23a6ba0ab90f4ff", tableSize: 57 },
      { fields: REQ2, bytes: "828684be5886a8eb10649cbf", tableSize: 110 },
      {
        fields: REQ3,
        bytes: "828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf",
        tableSize: 164,
      },
    ],
  },
  {
    name: "C.5 responses without Huffman (256-byte table, evictions)",
    tableSize: 256,
    huffman: false,
    steps: [
      {
        fields: RES1,
        bytes:
          "4803333032580770726976617465611d4d6f6e2c203231204f637420323031332032303a31333a323120474d546e1768747470733a2f2f7777772e6578616d706c652e636f6d",
        tableSize: 222,
      },
      { fields: RES2, bytes: "4803333037c1c0bf", tableSize: 222 },
      {
        fields: RES3,
        bytes:
          "88c1611d4d6f6e2c203231204f637420323031332032303a31333a323220474d54c05a04677a69707738666f6f3d4153444a4b48514b425a584f5157454f50495541585157454f49553b206d61782d6167653d333630303b2076657273696f6e3d31",
        tableSize: 215,
      },
    ],
  },
  {
    name: "C.6 responses with Huffman (256-byte table, evictions)",
    tableSize: 256,
    huffman: true,
    steps: [
      {
        fields: RES1,
        bytes:
          "488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f0b97c8e9ae82ae43d3",
        tableSize: 222,
      },
      { fields: RES2, bytes: "4883640effc1c0bf", tableSize: 222 },
      {
        fields: RES3,
        bytes:
          "88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007",
        tableSize: 215,
      },
    ],
  },
];

for (const seq of SEQUENCES) {
  test(`HPACK ${seq.name}: decodes each block and keeps the table`, () => {
    const decoder = new HpackDecoder({ maxTableSize: seq.tableSize });
    for (const step of seq.steps) {
      assert.deepEqual(decoder.decode(hex(step.bytes)), step.fields);
      assert.equal(decoder.table.size, step.tableSize);
    }
  });
  test(`HPACK ${seq.name}: encodes to the RFC's bytes`, () => {
    const encoder = new HpackEncoder(seq.tableSize);
    for (const step of seq.steps) {
      const out = encoder.encode(step.fields, { huffman: seq.huffman });
      assert.deepEqual(out, hex(step.bytes));
      assert.equal(encoder.table.size, step.tableSize);
    }
  });
}

test("HPACK C.2 single representations: literal indexed, not indexed, never indexed, indexed", () => {
  const d = new HpackDecoder();
  assert.deepEqual(d.decode(hex("400a637573746f6d2d6b65790d637573746f6d2d686561646572")), [[
    "custom-key",
    "custom-header",
  ]]);
  assert.equal(d.table.size, 55);
  const d2 = new HpackDecoder();
  assert.deepEqual(d2.decode(hex("040c2f73616d706c652f70617468")), [[":path", "/sample/path"]]);
  assert.equal(d2.table.length, 0);
  assert.deepEqual(d2.decode(hex("100870617373776f726406736563726574")), [["password", "secret"]]);
  assert.equal(d2.table.length, 0);
  assert.deepEqual(d2.decode(hex("82")), [[":method", "GET"]]);
  const e = new HpackEncoder();
  assert.deepEqual(
    e.encode([["password", "secret"]], { huffman: false, sensitive: new Set(["password"]) }),
    hex("100870617373776f726406736563726574"),
  );
  assert.equal(e.table.length, 0);
});

test("HPACK C.1 integers: 10 and 1337 on 5 bits, 42 on 8 bits; round trip of large values", () => {
  const w = new ByteWriter();
  encodeInteger(w, 10, 5, 0);
  encodeInteger(w, 1337, 5, 0);
  encodeInteger(w, 42, 8, 0);
  const bytes = w.finish();
  assert.deepEqual(bytes, hex("0a 1f9a0a 2a"));
  const cur = { bytes, pos: 0 };
  assert.deepEqual([decodeInteger(cur, 5), decodeInteger(cur, 5), decodeInteger(cur, 8)], [
    10,
    1337,
    42,
  ]);
  for (const v of [0, 30, 31, 127, 128, 2 ** 31 - 1]) {
    const w2 = new ByteWriter();
    encodeInteger(w2, v, 7, 0x80);
    assert.equal(decodeInteger({ bytes: w2.finish(), pos: 0 }, 7), v);
  }
  assert.throws(
    () => decodeInteger({ bytes: hex("ffffffffff0f"), pos: 0 }, 7),
    RemoteProtocolError,
  );
  assert.throws(() => decodeInteger({ bytes: hex("1f9a"), pos: 0 }, 5), RemoteProtocolError);
});

test("Huffman: codes match Appendix B samples, every byte round-trips, bad padding and EOS refused", () => {
  assert.deepEqual(huffmanCode(0), { code: 0x1ff8, bits: 13 });
  assert.deepEqual(huffmanCode(255), { code: 0x3ffffee, bits: 26 });
  assert.deepEqual(huffmanCode(256), { code: 0x3fffffff, bits: 30 });
  const all = new Uint8Array(256).map((_, i) => i);
  assert.deepEqual(huffmanDecode(huffmanEncode(all)), all);
  // "0" is 00000; padding with zeros instead of ones is refused, as is a full byte of padding.
  assert.throws(() => huffmanDecode(hex("00")), RemoteProtocolError);
  assert.throws(() => huffmanDecode(hex("07ff")), RemoteProtocolError); // "0" then 8+ pad bits
  assert.throws(() => huffmanDecode(hex("ffffffff")), RemoteProtocolError); // EOS inside
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      assert.deepEqual(huffmanDecode(huffmanEncode(bytes)), bytes);
    }),
  );
});

test("HPACK table size updates: honoured at block start, refused above the limit or mid-block", () => {
  const d = new HpackDecoder({ maxTableSize: 4096 });
  d.decode(hex("400a637573746f6d2d6b65790d637573746f6d2d686561646572"));
  assert.equal(d.table.length, 1);
  assert.deepEqual(d.decode(hex("20 82")), [[":method", "GET"]]); // size 0 evicts everything
  assert.equal(d.table.length, 0);
  assert.throws(() => d.decode(hex("3fe21f")), RemoteProtocolError); // 4097 > 4096
  assert.throws(() => d.decode(hex("82 20")), RemoteProtocolError);
  // The encoder signals a lowered peer limit at the start of the next block.
  const e = new HpackEncoder();
  e.encode([["custom-key", "custom-header"]]);
  e.setMaxTableSize(0);
  const block = e.encode([[":method", "GET"]]);
  assert.deepEqual(block, hex("20 82"));
  assert.equal(e.table.length, 0);
});

test("HPACK header list size limit and bad indexes are RemoteProtocolError", () => {
  const d = new HpackDecoder({ maxHeaderListSize: 40 });
  assert.throws(
    () => d.decode(hex("400a637573746f6d2d6b65790d637573746f6d2d686561646572")),
    /exceeds the limit of 40 bytes/,
  );
  const d2 = new HpackDecoder();
  assert.throws(() => d2.decode(hex("80")), RemoteProtocolError); // index 0
  assert.throws(() => d2.decode(hex("be")), RemoteProtocolError); // 62: empty dynamic table
  assert.throws(() => d2.decode(hex("400a6375")), RemoteProtocolError); // string cut short
});

test("HPACK fuzz: random and mutated blocks decode or throw RemoteProtocolError", () => {
  const valid = hex(SEQUENCES[3].steps[0].bytes);
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 128 }),
        fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })).map(([i, b]) => {
          const m = valid.slice();
          m[i] = b;
          return m;
        }),
      ),
      (block) => {
        const d = new HpackDecoder({ maxHeaderListSize: 4096 });
        try {
          const fields = d.decode(block);
          assert.ok(d.table.size <= 4096);
          assert.ok(fields.length <= block.length);
        } catch (error) {
          assert.ok(error instanceof RemoteProtocolError, String(error));
        }
      },
    ),
    { numRuns: 2000 },
  );
});

test("HPACK round trip: random header lists survive encode then decode across blocks", () => {
  const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/);
  const value = fc.string({ maxLength: 40 }).map((s) => s.replace(/[^\x20-\x7e]/g, "x"));
  fc.assert(
    fc.property(
      fc.array(fc.array(fc.tuple(name, value), { maxLength: 8 }), { maxLength: 6 }),
      (lists) => {
        const e = new HpackEncoder(256);
        const d = new HpackDecoder({ maxTableSize: 256 });
        for (const list of lists) assert.deepEqual(d.decode(e.encode(list)), list);
      },
    ),
  );
});
