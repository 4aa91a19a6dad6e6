// Tests for src/core/sha1.ts against FIPS 180 vectors and the platform's WebCrypto digest.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { sha1Hex } from "../../src/core/sha1.ts";

test("sha1: FIPS 180 test vectors", () => {
  assert.equal(sha1Hex(""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  assert.equal(sha1Hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
  assert.equal(
    sha1Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
    "84983e441c3bd26ebaae4aa1f95129e5e54670f1",
  );
});

test("sha1: agrees with crypto.subtle for random inputs of every padding length", async () => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), async (bytes) => {
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-1", bytes));
      const hex = [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
      assert.equal(sha1Hex(bytes), hex);
    }),
    { numRuns: 150 },
  );
});
