// Tests for src/core/stream_queue.ts: ordering, ending with and without error, backpressure
// signals and early cancellation.
import { test } from "node:test";
import assert from "node:assert/strict";
import { StreamQueue } from "../../src/core/stream_queue.ts";

test("stream queue: items buffered before and after the consumer waits arrive in order", async () => {
  const q = new StreamQueue<number>();
  q.push(1);
  const seen: number[] = [];
  const done = (async () => {
    for await (const n of q) seen.push(n);
  })();
  q.push(2);
  await Promise.resolve();
  q.push(3);
  q.end();
  await done;
  assert.deepEqual(seen, [1, 2, 3]);
});

test("stream queue: an error ends the iteration after the buffered items", async () => {
  const q = new StreamQueue<string>();
  q.push("a");
  q.end(new Error("watch cancelled"));
  const seen: string[] = [];
  await assert.rejects(async () => {
    for await (const s of q) seen.push(s);
  }, /watch cancelled/);
  assert.deepEqual(seen, ["a"]);
  assert.deepEqual(await q.next(), { value: undefined, done: true }, "the error is reported once");
});

test("stream queue: push reports backpressure and onDrain fires once the consumer catches up", async () => {
  let drains = 0;
  const q = new StreamQueue<number>({ highWaterMark: 4, onDrain: () => drains++ });
  const accepted = [1, 2, 3, 4, 5].map((n) => q.push(n));
  assert.deepEqual(accepted, [true, true, true, false, false]);
  await q.next();
  assert.equal(drains, 0, "still over half the high-water mark");
  await q.next();
  await q.next();
  assert.equal(drains, 1);
  assert.equal(q.size, 2);
});

test("stream queue: breaking out of for-await cancels the producer once", async () => {
  let cancels = 0;
  const q = new StreamQueue<number>({ onCancel: () => cancels++ });
  q.push(1);
  q.push(2);
  for await (const _ of q) break;
  assert.equal(cancels, 1);
  assert.equal(q.ended, true);
  assert.equal(q.push(3), true, "pushes after cancel are ignored");
  assert.equal(q.size, 0);
  await q.return();
  assert.equal(cancels, 1);
});

test("stream queue: a second concurrent consumer is refused", async () => {
  const q = new StreamQueue<number>();
  const first = q.next();
  await assert.rejects(q.next(), TypeError);
  q.push(7);
  assert.deepEqual(await first, { value: 7, done: false });
});

test("stream queue: an error ending the queue while the consumer waits is reported once", async () => {
  const q = new StreamQueue<string>();
  const waiting = q.next();
  q.end(new Error("connection reset"));
  await assert.rejects(waiting, /connection reset/);
  assert.deepEqual(await q.next(), { value: undefined, done: true }, "the error is reported once");
  assert.deepEqual(await q.next(), { value: undefined, done: true });
});

test("stream queue: a clean end while the consumer waits is reported as done, then done again", async () => {
  const q = new StreamQueue<string>();
  const waiting = q.next();
  q.end();
  assert.deepEqual(await waiting, { value: undefined, done: true });
  assert.deepEqual(await q.next(), { value: undefined, done: true });
});

test("stream queue: a nextWithin that times out takes nothing; the next item goes to the next call", async () => {
  const q = new StreamQueue<string>();
  for (let i = 0; i < 5; i++) assert.equal(await q.nextWithin(1), undefined, `poll ${i} times out`);
  const waiting = q.nextWithin(5000);
  q.push("a");
  q.push("b");
  assert.deepEqual(await waiting, { value: "a", done: false });
  assert.deepEqual(await q.nextWithin(1), { value: "b", done: false });
  assert.equal(await q.nextWithin(1), undefined);
  const ending = q.nextWithin(5000);
  q.end(new Error("lost"));
  await assert.rejects(ending, /lost/);
  assert.deepEqual(await q.nextWithin(1), { value: undefined, done: true });
});

test("stream queue: the hooks are called as methods of the options (a class instance works)", async () => {
  class Owner {
    readonly highWaterMark = 2;
    readonly calls: string[] = [];
    onDrain(): void {
      this.calls.push("drain");
    }
    onCancel(): void {
      this.calls.push("cancel");
    }
  }
  const owner = new Owner();
  const q = new StreamQueue<number>(owner);
  q.push(1);
  assert.equal(q.push(2), false); // the high-water mark is read from the instance
  await q.next();
  await q.return();
  assert.deepEqual(owner.calls, ["drain", "cancel"]);
});
