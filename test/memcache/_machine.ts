// Helpers for the memcache machine tests: drive a machine with a scripted peer, split replies
// at every point, and a fast-check property that junk never escapes as a non-protocol error.
import assert from "node:assert/strict";
import fc from "fast-check";
import type { ProtocolConnection } from "../../src/core/connection.ts";
import { RemoteProtocolError } from "../../src/core/errors.ts";
import type { MemcacheReply, MemcacheRequest } from "../../src/memcache/types.ts";

export type Machine = ProtocolConnection<MemcacheRequest, MemcacheReply>;
export type Event = NonNullable<ReturnType<Machine["nextEvent"]>>;

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array | undefined): string =>
  b ? Array.from(b, (x) => String.fromCharCode(x)).join("") : "";

/** Every event available now. */
export function drain(conn: Machine): Event[] {
  const out: Event[] = [];
  for (let e = conn.nextEvent(); e; e = conn.nextEvent()) out.push(e);
  return out;
}

/** Whole, byte by byte, and in two chunks at every split point. */
export function chunkings(bytes: Uint8Array): [string, Uint8Array[]][] {
  const out: [string, Uint8Array[]][] = [["whole", [bytes]]];
  out.push(["byte by byte", Array.from(bytes, (_, i) => bytes.slice(i, i + 1))]);
  for (let i = 1; i < bytes.length; i++) {
    out.push([`split at ${i}`, [bytes.slice(0, i), bytes.slice(i)]]);
  }
  return out;
}

/** A scripted exchange: requests, the exact bytes they encode to, the reply bytes, results. */
export interface Fixture {
  name: string;
  requests: MemcacheRequest[];
  wire: string;
  reply: string | Uint8Array;
  /** Per request: its reply, or a serverError's code. */
  expect: (MemcacheReply | { serverError: string })[];
}

/** Runs a fixture under every chunking of its reply. */
export function checkFixture(make: () => Machine, fixture: Fixture): void {
  const reply = typeof fixture.reply === "string" ? enc(fixture.reply) : fixture.reply;
  for (const [how, chunks] of chunkings(reply)) {
    const conn = make();
    const ids = fixture.requests.map((r) => conn.send(r));
    assert.equal(dec(conn.pollTransmit()), fixture.wire, `${fixture.name}: bytes sent`);
    const events: Event[] = [];
    for (const chunk of chunks) {
      conn.receive(chunk);
      events.push(...drain(conn));
    }
    const got = events.map((e) => {
      if (e.type === "reply") return [e.id, e.value];
      if (e.type === "serverError") return [e.id, { serverError: e.error.serverCode }];
      return [0, e];
    }).sort((a, b) => (a[0] as number) - (b[0] as number)); // keyed replies may come in any order
    assert.deepEqual(got, ids.map((id, i) => [id, fixture.expect[i]]), `${fixture.name} (${how})`);
    assert.equal(conn.inFlight, 0, `${fixture.name} (${how}): nothing left in flight`);
  }
}

/**
 * Random and mutated replies to a set of pending requests produce events or a
 * RemoteProtocolError, nothing else, and never hang (each call returns).
 */
export function fuzz(make: () => Machine, requests: MemcacheRequest[], valid: Uint8Array[]): void {
  const feed = (chunks: Uint8Array[]): void => {
    const conn = make();
    for (const r of requests) conn.send(r);
    conn.pollTransmit();
    try {
      for (const chunk of chunks) {
        conn.receive(chunk);
        drain(conn);
      }
      conn.receiveEof();
      drain(conn);
    } catch (error) {
      if (!(error instanceof RemoteProtocolError)) throw error;
      assert.throws(() => conn.nextEvent(), RemoteProtocolError, "stays failed");
    }
  };
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }), feed),
    { numRuns: 300 },
  );
  fc.assert(
    fc.property(
      fc.constantFrom(...valid),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
        minLength: 1,
        maxLength: 4,
      }),
      fc.nat(),
      (bytes, edits, cut) => {
        const mutated = bytes.slice();
        for (const [at, value] of edits) mutated[at % mutated.length] = value;
        const split = cut % (mutated.length + 1);
        feed([mutated.slice(0, split), mutated.slice(split)]);
      },
    ),
    { numRuns: 500 },
  );
}
