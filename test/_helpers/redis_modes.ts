// The per-mode harness of the typed-command tests: each test body runs four times, in RESP2 and
// RESP3, with Uint8Array values and with decoded strings, against the real test server.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { RedisClient } from "../../src/redis/client.ts";
import { RedisError } from "../../src/redis/errors.ts";
import { type Address, redisAddress } from "./servers.ts";

/** What a test body gets for one mode. */
export interface Mode<V> {
  protocol: 2 | 3;
  client: RedisClient<V>;
  /** The expected form of a value: a string when decoding, else its UTF-8 bytes. */
  v: (text: string) => V;
  /** A new client with the same settings (for blocking calls); the test closes it. */
  fresh: () => Promise<RedisClient<V>>;
}

/** A command group's harness: `each` registers one test per mode. */
export interface RedisModes {
  each(title: string, body: <V>(m: Mode<V>) => Promise<void>): void;
  /** A decoding RESP2 client of this file, for side queries such as CLIENT LIST. */
  observer(): RedisClient<unknown>;
}

const SPECS = [
  { protocol: 2, decode: false },
  { protocol: 3, decode: false },
  { protocol: 2, decode: true },
  { protocol: 3, decode: true },
] as const;

/** Sets up the clients of one test file (call it once, at top level) and returns `each`. */
export function redisModes(group: string): RedisModes {
  const te = new TextEncoder();
  const bytesClients = new Map<2 | 3, RedisClient<Uint8Array>>();
  const textClients = new Map<2 | 3, RedisClient<string>>();
  let address: Address;
  before(async () => {
    address = await redisAddress();
    for (const protocol of [2, 3] as const) {
      bytesClients.set(protocol, await RedisClient.connect({ ...address, protocol }));
      textClients.set(protocol, await RedisClient.connect({ ...address, protocol, decode: true }));
    }
  });
  after(async () => {
    await Promise.all([...bytesClients.values(), ...textClients.values()].map((c) => c.close()));
  });
  return {
    each(title, body): void {
      for (const { protocol, decode } of SPECS) {
        test(`redis ${group} [RESP${protocol} ${decode ? "text" : "bytes"}]: ${title}`, async () => {
          if (decode) {
            await body<string>({
              protocol,
              client: textClients.get(protocol)!,
              v: (s) => s,
              fresh: () => RedisClient.connect({ ...address, protocol, decode: true }),
            });
          } else {
            await body<Uint8Array>({
              protocol,
              client: bytesClients.get(protocol)!,
              v: (s) => te.encode(s),
              fresh: () => RedisClient.connect({ ...address, protocol }),
            });
          }
        });
      }
    },
    observer: () => textClients.get(2)! as RedisClient<unknown>,
  };
}

/** A runtime-neutral picture of a value (Buffer and Uint8Array compare alike). */
export function norm(x: unknown): unknown {
  if (x instanceof Uint8Array) return { bytes: new TextDecoder().decode(x) };
  if (Array.isArray(x)) return x.map(norm);
  if (x instanceof Map) return new Map([...x].map(([k, v]) => [norm(k), norm(v)]));
  return x;
}

/** Deep equality on normalised values. */
export function eq(actual: unknown, expected: unknown, message?: string): void {
  assert.deepStrictEqual(norm(actual), norm(expected), message);
}

/** Items in a stable order whatever their type, for replies with no defined order. */
export function sorted<T>(items: T[]): T[] {
  return [...items].sort((a, b) => JSON.stringify(norm(a)).localeCompare(JSON.stringify(norm(b))));
}

/** True for a WRONGTYPE error reply. */
export const isWrongType = (e: unknown): boolean =>
  e instanceof RedisError && e.serverCode === "WRONGTYPE";

/** A fresh key prefix, so that tests sharing a server never collide. */
export const prefix = (): string => `t:${crypto.randomUUID()}:`;
