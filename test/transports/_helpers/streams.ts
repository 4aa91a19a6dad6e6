// Byte-stream helpers for the transport conformance suite: reading to EOF, comparing bytes,
// and the server behaviours several cases share.

import assert from "node:assert/strict";
import type { Transport } from "../../../transports/types.ts";
import { setImmediate as nextMacrotask } from "node:timers/promises";
import { fnv1a, FNV_START, type Handler, patternBytes } from "./servers.ts";

/** UTF-8 encodes text. */
export const encode = (text: string): Uint8Array => new TextEncoder().encode(text);
/** UTF-8 decodes bytes. */
export const decode = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

/** Reads until EOF (or `limit` bytes), returning the chunks as handed out. */
export async function readChunks(t: Transport, limit = Infinity): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  while (total < limit) {
    const chunk = await t.read();
    if (chunk === null) break;
    chunks.push(chunk);
    total += chunk.length;
  }
  return chunks;
}

/** Joins chunks into one array. */
export function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/** Asserts equal bytes, naming the first difference (cheaper than deepEqual on MiBs). */
export function assertSameBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) assert.fail(`${what}: first difference at byte ${i}`);
  }
}

/** Writes respecting backpressure. */
export async function writeAll(t: Transport, bytes: Uint8Array): Promise<void> {
  if (!t.write(bytes)) await t.ready();
}

/** Reads to EOF, then answers `got <what it read>` and ends. */
export const replyAfterEof: Handler = async (peer) => {
  const chunks: Uint8Array[] = [];
  for (let chunk = await peer.read(); chunk !== null; chunk = await peer.read()) {
    chunks.push(chunk);
  }
  await peer.write(encode(`got ${decode(concat(chunks))}`));
  await peer.end();
};

/** Sends `count` chunks of distinct content, then ends. */
export function source(count: number, size: number): Handler {
  return async (peer) => {
    for (let i = 0; i < count; i++) await peer.write(patternBytes(size, i + 1));
    await peer.end();
  };
}

/** Reads a 4 MiB stream keeping every chunk, then checks none changed after it was handed out. */
export async function assertChunksKept(t: Transport, count: number, size: number): Promise<void> {
  const kept: { chunk: Uint8Array; copy: Uint8Array }[] = [];
  for (let chunk = await t.read(); chunk !== null; chunk = await t.read()) {
    assert.equal(Object.getPrototypeOf(chunk), Uint8Array.prototype, "a plain Uint8Array");
    kept.push({ chunk, copy: chunk.slice() });
  }
  kept.forEach(({ chunk, copy }, i) =>
    assertSameBytes(chunk, copy, `chunk ${i} after later reads`)
  );
  const expected = concat(Array.from({ length: count }, (_, i) => patternBytes(size, i + 1)));
  assertSameBytes(concat(kept.map((k) => k.chunk)), expected, "stream");
}

/**
 * A sink that reads nothing until `start` resolves, then reads slowly (yielding to the event
 * loop every MiB), and reports how many bytes it got and their FNV-1a hash at EOF.
 */
export function slowChecksumSink(
  start: Promise<void>,
): { sink: Handler; result: Promise<{ bytes: number; hash: number }> } {
  let received!: (value: { bytes: number; hash: number }) => void;
  const result = new Promise<{ bytes: number; hash: number }>((resolve) => (received = resolve));
  const sink: Handler = async (peer) => {
    await start;
    let bytes = 0;
    let hash = FNV_START;
    let sincePause = 0;
    for (let chunk = await peer.read(); chunk !== null; chunk = await peer.read()) {
      bytes += chunk.length;
      hash = fnv1a(hash, chunk);
      sincePause += chunk.length;
      if (sincePause >= 1024 * 1024) {
        sincePause = 0;
        await nextMacrotask();
      }
    }
    received({ bytes, hash });
  };
  return { sink, result };
}
