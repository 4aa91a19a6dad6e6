// Tests for src/core/receive_buffer.ts: views, joins that happen once, search across chunks.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ReceiveBuffer } from "../../src/core/receive_buffer.ts";

test("receive buffer: a range inside one chunk is a view, not a copy", () => {
  const chunk = new Uint8Array([1, 2, 3, 4]);
  const buf = new ReceiveBuffer();
  buf.push(chunk);
  const view = buf.take(2);
  assert.equal(view.buffer, chunk.buffer, "same backing memory");
  assert.deepEqual(view, new Uint8Array([1, 2]));
  assert.deepEqual(buf.head(), new Uint8Array([3, 4]));
  assert.equal(buf.length, 2);
});

test("receive buffer: a range across chunks is joined once and the join is reused", () => {
  const buf = new ReceiveBuffer();
  buf.push(new Uint8Array([1, 2]));
  buf.push(new Uint8Array([3, 4, 5]));
  const first = buf.view(3);
  assert.deepEqual(first, new Uint8Array([1, 2, 3]));
  const again = buf.view(3);
  assert.equal(again.buffer, first.buffer, "the second view reuses the join");
  assert.deepEqual(buf.take(5), new Uint8Array([1, 2, 3, 4, 5]));
  assert.equal(buf.length, 0);
  assert.deepEqual(buf.head(), new Uint8Array());
});

test("receive buffer: indexOf and byteAt across chunks", () => {
  const buf = new ReceiveBuffer();
  buf.push(new Uint8Array([9, 1]));
  buf.push(new Uint8Array([2, 13]));
  buf.push(new Uint8Array([10]));
  buf.skip(1);
  assert.equal(buf.indexOf(13), 2);
  assert.equal(buf.indexOf(10), 3);
  assert.equal(buf.indexOf(10, 4), -1);
  assert.equal(buf.indexOf(7), -1);
  assert.equal(buf.byteAt(0), 1);
  assert.equal(buf.byteAt(3), 10);
});

test("receive buffer: asking for more than is buffered is a RangeError", () => {
  const buf = new ReceiveBuffer();
  buf.push(new Uint8Array([1]));
  assert.throws(() => buf.view(2), RangeError);
  assert.throws(() => buf.skip(2), RangeError);
  assert.equal(buf.length, 1, "a failed call consumes nothing");
});

test("receive buffer: any chunking and any take sizes give back the same bytes", () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 20 }), { maxLength: 20 }),
      fc.array(fc.nat(25), { maxLength: 40 }),
      (chunks, takes) => {
        const all = chunks.flatMap((c) => [...c]);
        const buf = new ReceiveBuffer();
        for (const c of chunks) buf.push(c);
        let pos = 0;
        for (const n of takes) {
          const size = Math.min(n, buf.length);
          if (size > 0) {
            assert.equal(buf.indexOf(all[pos]), all.indexOf(all[pos], pos) - pos);
          }
          assert.deepEqual([...buf.take(size)], all.slice(pos, pos + size));
          pos += size;
          assert.equal(buf.length, all.length - pos);
        }
      },
    ),
  );
});

test("receive buffer: clear drops everything", () => {
  const buf = new ReceiveBuffer();
  buf.push(new Uint8Array([1, 2]));
  buf.clear();
  assert.equal(buf.length, 0);
  assert.equal(buf.indexOf(1), -1);
});
