// Tests for src/core/outbox.ts: coalescing, cutting out settled requests, maxBytes, keep rules.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ByteWriter } from "../../src/core/bytes.ts";
import { Outbox } from "../../src/core/outbox.ts";

type E = { start: number; end: number; settled: boolean; transmitted: boolean; name: string };
const text = (b: Uint8Array | undefined): string => (b ? new TextDecoder().decode(b) : "");

function boxWith(names: string[], sendSettled?: (e: E) => boolean): [Outbox<E, ByteWriter>, E[]] {
  const box = new Outbox<E, ByteWriter>(new ByteWriter(), { sendSettled });
  const entries = names.map((name) => {
    const e: E = { start: 0, end: 0, settled: false, transmitted: false, name };
    const start = box.writer.length;
    box.writer.writeAscii(`${name};`);
    box.push(e, start);
    return e;
  });
  return [box, entries];
}

test("outbox: everything goes out in one chunk, in order", () => {
  const [box, entries] = boxWith(["a", "bb", "c"]);
  const moved: string[] = [];
  assert.equal(text(box.take(Infinity, (e) => moved.push(e.name))), "a;bb;c;");
  assert.deepEqual(moved, ["a", "bb", "c"]);
  assert.ok(entries.every((e) => e.transmitted));
  assert.equal(box.take(Infinity, () => {}), undefined);
});

test("outbox: lent bytes are a view of the writer, reused by its next write", () => {
  const [box, entries] = boxWith(["a", "bb"]);
  const lent = box.take(Infinity, () => {}, undefined, true)!;
  assert.equal(text(lent), "a;bb;");
  assert.ok(entries.every((e) => e.transmitted));
  assert.equal(box.writer.length, 0, "the writer is empty again");
  box.writer.writeAscii("zz"); // no copy was made: the lent view sees the new bytes
  assert.equal(text(lent), "zzbb;");
});

test("outbox: lending falls back to a copy when a settled request is cut out", () => {
  const [box, [, b]] = boxWith(["a", "bb", "c"]);
  b.settled = true;
  const lent = box.take(Infinity, () => {}, undefined, true)!;
  box.writer.writeAscii("zzzz");
  assert.equal(text(lent), "a;c;");
});

test("outbox: a request settled while queued is cut out; later ones keep their bytes", () => {
  const [box, [a, b]] = boxWith(["a", "bb", "c"]);
  b.settled = true;
  const dropped: string[] = [];
  assert.equal(text(box.take(3, () => {}, (e) => dropped.push(e.name))), "a;");
  assert.equal(a.transmitted, true);
  assert.equal(text(box.take(Infinity, () => {}, (e) => dropped.push(e.name))), "c;");
  assert.deepEqual(dropped, ["bb"]);
  assert.equal(b.transmitted, false);
});

test("outbox: maxBytes splits at request boundaries but always sends one", () => {
  const [box] = boxWith(["aaaa", "b", "c"]);
  assert.equal(text(box.take(2, () => {})), "aaaa;", "one request even if it is larger");
  box.writer.writeAscii("d;"); // written after a take: offsets still line up
  const e: E = { start: 0, end: 0, settled: false, transmitted: false, name: "d" };
  box.push(e, box.writer.length - 2);
  assert.equal(text(box.take(4, () => {})), "b;c;");
  assert.equal(text(box.take(Infinity, () => {})), "d;");
});

test("outbox: when every queued request was cut, nothing is handed out", () => {
  const [box, entries] = boxWith(["a", "b"]);
  for (const e of entries) e.settled = true;
  assert.equal(box.take(Infinity, () => {}), undefined);
  assert.equal(box.size, 0);
  assert.equal(box.writer.length, 0);
});

test("outbox: sendSettled keeps chosen settled requests on the wire", () => {
  const [box, [, sub]] = boxWith(["a", "sub"], (e) => e.name === "sub");
  sub.settled = true;
  assert.equal(text(box.take(Infinity, () => {})), "a;sub;");
  assert.equal(sub.transmitted, true);
});
