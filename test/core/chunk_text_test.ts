// Tests for src/core/chunk_text.ts: ranges decoded from one chunk equal decoding each range alone,
// for ASCII, UTF-8 and invalid bytes, when ranges are separated by ASCII (as protocol fields are).
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ChunkText } from "../../src/core/chunk_text.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** Joins `parts` with CRLF and returns the chunk and each part's range. */
function frame(parts: Uint8Array[]): { chunk: Uint8Array; ranges: [number, number][] } {
  const chunk = new Uint8Array(parts.reduce((n, p) => n + p.length + 2, 0));
  const ranges: [number, number][] = [];
  let at = 0;
  for (const p of parts) {
    chunk.set(p, at);
    ranges.push([at, at + p.length]);
    chunk.set([13, 10], at + p.length);
    at += p.length + 2;
  }
  return { chunk, ranges };
}

const part = fc.oneof(
  fc.string({ maxLength: 40 }).map((s) => encoder.encode(s)), // ASCII-ish
  fc.string({ unit: "grapheme", maxLength: 20 }).map((s) => encoder.encode(s)), // UTF-8
  fc.uint8Array({ maxLength: 30 }), // anything, invalid sequences included
);

test("ChunkText: every range decodes as TextDecoder decodes it alone", () => {
  fc.assert(
    fc.property(fc.array(part, { minLength: 1, maxLength: 30 }), fc.nat(), (parts, skip) => {
      const { chunk, ranges } = frame(parts);
      const text = new ChunkText();
      // Start anywhere, as a decoder does after consuming the head of a chunk.
      for (const [s, e] of ranges.slice(skip % ranges.length)) {
        assert.equal(text.decode(chunk, s, e), decoder.decode(chunk.subarray(s, e)));
      }
    }),
  );
});

test("ChunkText: large ranges, other chunks and a rewind give the right text", () => {
  const text = new ChunkText();
  const big = encoder.encode("x".repeat(5000) + "\r\né\r\n");
  assert.equal(text.decode(big, 0, 5000), "x".repeat(5000));
  assert.equal(text.decode(big, 5002, 5004), "é");
  const other = encoder.encode("ab\r\ncd");
  assert.equal(text.decode(other, 4, 6), "cd");
  assert.equal(text.decode(other, 0, 2), "ab"); // before the decoded part: decoded again
  text.clear();
  assert.equal(text.decode(other, 1, 2), "b");
});
