// Behaviour specific to the in-memory transport used by tests: scripted chunking, latency,
// slow readers, close semantics and the connector that hands out the server side.

import { test } from "node:test";
import assert from "node:assert/strict";
import { setImmediate as nextMacrotask } from "node:timers/promises";
import { AbortedError, ConnectionClosedError } from "../../src/core/errors.ts";
import type { Transport } from "../../transports/types.ts";
import { createMemoryPair, memoryConnector } from "../../transports/memory.ts";
import { concat, decode, encode, readChunks } from "./_helpers/streams.ts";
import { within } from "./_helpers/servers.ts";

const GUARD_MS = 20_000;

test("memory: each write is split by chunkSizes, cycled", async () => {
  const [a, b] = createMemoryPair({ chunkSizes: [3, 1] });
  a.write(encode("abcdefghij"));
  a.write(encode("xy"));
  await a.end();
  const pieces = (await readChunks(b)).map(decode);
  assert.deepEqual(pieces, ["abc", "d", "efg", "h", "ij", "x", "y"]);
  a.close();
  b.close();
});

test("memory: latency delays delivery and keeps order", async () => {
  const [a, b] = createMemoryPair({ latency: 30 });
  const started = Date.now();
  for (let i = 0; i < 20; i++) a.write(encode(`${i},`));
  await a.end();
  assert.ok(Date.now() - started >= 25, "end() resolved only after the latency");
  assert.equal(
    decode(concat(await readChunks(b))),
    Array.from({ length: 20 }, (_, i) => `${i},`).join(""),
  );
  a.close();
  b.close();
});

test("memory: a slow reader raises bufferedAmount until it reads", async () => {
  const [a, b] = createMemoryPair({ highWaterMark: 10 });
  assert.equal(a.write(new Uint8Array(6)), true);
  assert.equal(a.write(new Uint8Array(6)), false);
  assert.equal(a.bufferedAmount, 12);
  let isReady = false;
  const ready = a.ready().then(() => (isReady = true));
  await nextMacrotask();
  assert.equal(isReady, false, "ready() waits while the peer reads nothing");
  assert.equal((await b.read())?.length, 6);
  await within(ready, GUARD_MS, "ready()");
  assert.equal(a.bufferedAmount, 6);
  a.close();
  b.close();
});

test("memory: close() gives the peer EOF, close(reason) a ConnectionClosedError", async () => {
  const [a, b] = createMemoryPair();
  a.write(encode("last words"));
  a.close();
  assert.equal(decode((await b.read())!), "last words");
  assert.equal(await b.read(), null);
  assert.throws(() => b.write(encode("x")), ConnectionClosedError);
  await within(b.closed, GUARD_MS, "peer closed");

  const [c, d] = createMemoryPair();
  const pending = d.read();
  c.close(new Error("boom"));
  await assert.rejects(
    pending,
    (e) => e instanceof ConnectionClosedError && /boom/.test(e.message),
  );
  d.close();
});

test("memory: the writer may reuse its buffer after write()", async () => {
  const [a, b] = createMemoryPair();
  const buffer = encode("first");
  a.write(buffer);
  buffer.set(encode("XXXXX"));
  assert.equal(decode((await b.read())!), "first");
  a.close();
  b.close();
});

test("memory: memoryConnector hands the server side to onAccept", async () => {
  const accepted: Transport[] = [];
  const connect = memoryConnector((server) => accepted.push(server));
  const t = await connect({ host: "fake", port: 6379 }, { highWaterMark: 4 });
  assert.equal(t.info.kind, "memory");
  assert.equal(t.info.remoteAddress, "fake:6379");
  assert.equal(accepted.length, 1);
  assert.equal(t.write(encode("12345")), false, "connect options set the high-water mark");
  assert.equal(decode((await accepted[0].read())!), "12345");
  const aborted = AbortSignal.abort();
  await assert.rejects(connect({ host: "fake", port: 1 }, { signal: aborted }), AbortedError);
  t.close();
});

test("memory: readInto answers at once from the queue, else when a chunk arrives", async () => {
  const [a, b] = createMemoryPair();
  const got: string[] = [];
  const reader = {
    resolve: (chunk: Uint8Array | null) => got.push(chunk === null ? "EOF" : decode(chunk)),
    reject: (error: Error) => got.push(`${error.name}: ${error.message}`),
  };
  b.readInto!(reader); // nothing queued: waits for the receive event
  let second: Error | undefined;
  b.readInto!({ resolve: () => {}, reject: (error) => (second = error) });
  assert.ok(second instanceof TypeError, "a second pending read is refused at once");
  assert.deepEqual(got, []);
  a.write(encode("one"));
  a.write(encode("two"));
  await a.end(); // both chunks and the end are delivered
  assert.deepEqual(got, ["one"], "the pending reader got the first chunk on arrival");
  b.readInto!(reader);
  assert.deepEqual(got, ["one", "two"], "a queued chunk is handed over synchronously");
  b.readInto!(reader);
  assert.deepEqual(got, ["one", "two", "EOF"], "so is the end of the stream");
  a.close();
  b.close();
});
