// Bounded input on every memcache machine: a declared value length over maxValueLength is a
// RemoteProtocolError on the line or header that declares it, before any of the value arrives.
import { test } from "node:test";
import assert from "node:assert/strict";
import { RemoteProtocolError } from "../../src/core/errors.ts";
import { BinaryConnection } from "../../src/memcache/binary_connection.ts";
import { MetaConnection } from "../../src/memcache/meta_connection.ts";
import { TextConnection } from "../../src/memcache/text_connection.ts";
import { drain, enc, type Machine } from "./_machine.ts";

/** A binary GET response header announcing `valueLength` bytes after 4 bytes of extras. */
function binaryHeader(valueLength: number, opaque: number): Uint8Array {
  const header = new Uint8Array(24);
  const view = new DataView(header.buffer);
  header[0] = 0x81;
  header[4] = 4;
  view.setUint32(8, 4 + valueLength);
  view.setUint32(12, opaque);
  return header;
}

const CASES: [string, (limit?: number) => Machine, (size: number) => Uint8Array][] = [
  [
    "meta",
    (limit) => new MetaConnection({ maxValueLength: limit, firstOpaque: 0 }),
    (n) => enc(`VA ${n} f0 O0\r\n`),
  ],
  [
    "text",
    (limit) => new TextConnection({ maxValueLength: limit }),
    (n) => enc(`VALUE a 0 ${n}\r\n`),
  ],
  // The binary machine's first frame takes opaque 1 (its keyed table starts there).
  [
    "binary",
    (limit) => new BinaryConnection({ maxValueLength: limit, firstOpaque: 1 }),
    (n) => binaryHeader(n, 1),
  ],
];

for (const [name, make, announce] of CASES) {
  test(`memcache limits ${name}: a value of 1,000,000,000 bytes is refused on its header, default 1 MiB`, () => {
    const conn = make();
    conn.send({ op: "get", keys: [enc("a")] });
    conn.pollTransmit();
    conn.receive(announce(1_000_000_000));
    assert.throws(
      () => drain(conn),
      (e: unknown) =>
        e instanceof RemoteProtocolError &&
        /1000000000 bytes is over the 1048576-byte limit/.test(e.message),
    );
    assert.equal(conn.inFlight, 0, "the machine is closed");
    assert.equal(conn.wantsRead, false, "and reads nothing more");

    const atLimit = make();
    atLimit.send({ op: "get", keys: [enc("a")] });
    atLimit.pollTransmit();
    atLimit.receive(announce(1024 * 1024));
    assert.deepEqual(drain(atLimit), [], "1 MiB is accepted and awaits its bytes");
  });

  test(`memcache limits ${name}: maxValueLength sets the limit`, () => {
    const conn = make(10);
    conn.send({ op: "get", keys: [enc("a")] });
    conn.pollTransmit();
    conn.receive(announce(11));
    assert.throws(() => drain(conn), /11 bytes is over the 10-byte limit/);
  });
}
