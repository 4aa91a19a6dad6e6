// The single-server Redis clients scripts/bench/redis.ts compares, behind one small interface:
// kvwire, ioredis 6, node-redis 6, valkey-glide 2.5 `GlideClient` and Bun's built-in client.
// Every client returns strings (kvwire with `decode: true`), so all decode the same replies.
// `--baseline=<dir>` adds kvwire from another checkout (its dist/ on Node, src/ elsewhere).

import process from "node:process";
import type { RedisClient as RedisClientType } from "../../src/redis/mod.ts";

/** What a benchmark scenario may ask of a client. */
export interface RedisContender {
  get(key: string): Promise<unknown>;
  set(key: string, value: string): Promise<unknown>;
  hgetall(key: string): Promise<unknown>;
  mget(keys: string[]): Promise<unknown>;
  lrange(key: string, start: number, stop: number): Promise<unknown>;
  /** `n` GETs of `key` as one explicit pipeline (or the client's nearest equivalent). */
  pipelineGets(key: string, n: number): Promise<unknown>;
  close(): Promise<unknown> | void;
}

interface BunClient {
  connect(): Promise<void>;
  get(key: string): Promise<string | null>;
  set(key: string, value: string): Promise<unknown>;
  hgetall(key: string): Promise<unknown>;
  mget(...keys: string[]): Promise<unknown>;
  lrange(key: string, start: number, stop: number): Promise<unknown>;
  close(): void;
}

/** Bun's built-in client class, when running on Bun. */
export const BunRedis = (globalThis as { Bun?: { RedisClient?: new (url: string) => BunClient } })
  .Bun?.RedisClient;

/** Where the `baseline` contender's kvwire lives (`--baseline=<dir>`, a checkout). */
export const BASELINE_DIR: string | undefined = process.argv
  .find((a) => a.startsWith("--baseline="))?.slice("--baseline=".length);

/** The contenders this runtime can run, kvwire first. */
export const CONTENDERS: readonly string[] = [
  "kvwire",
  "ioredis",
  "node-redis",
  "glide",
  ...(BunRedis ? ["Bun.RedisClient"] : []),
  ...(BASELINE_DIR ? ["baseline"] : []),
];

const onNode = !("Deno" in globalThis) && !("Bun" in globalThis);
/** glide's default request timeout (250 ms) fails big batches on a loaded machine. */
const GLIDE_TIMEOUT_MS = 10_000;

/** Connects contender `name` to `host:port`. */
export async function connectContender(
  name: string,
  host: string,
  port: number,
): Promise<RedisContender> {
  switch (name) {
    case "kvwire":
      return await kvwire(host, port);
    case "baseline":
      return await kvwire(host, port, BASELINE_DIR);
    case "ioredis":
      return await ioredis(host, port);
    case "node-redis":
      return await nodeRedis(host, port);
    case "glide":
      return await glide(host, port);
    case "Bun.RedisClient":
      return await bun(host, port);
  }
  throw new RangeError(`unknown contender ${name}`);
}

/** Where kvwire is loaded from: dist/ on Node (what npm users run), src/ elsewhere. */
export const KVWIRE_FROM: string = onNode ? "dist/" : "src/";

/** kvwire's `RedisClient` from the checkout at `root` (from {@link KVWIRE_FROM}). */
export async function loadKvwire(root = "../.."): Promise<typeof RedisClientType> {
  const { RedisClient } = (await import(
    onNode ? `${root}/dist/redis.js` : `${root}/src/redis/mod.ts`
  )) as { RedisClient: typeof RedisClientType };
  return RedisClient;
}

async function kvwire(host: string, port: number, root = "../.."): Promise<RedisContender> {
  const RedisClient = await loadKvwire(root);
  const kv = await RedisClient.connect({ host, port, decode: true });
  return {
    get: (k) => kv.get(k),
    set: (k, v) => kv.set(k, v),
    hgetall: (k) => kv.hGetAll(k),
    mget: (keys) => kv.mGet(...keys),
    lrange: (k, a, b) => kv.lRange(k, a, b),
    pipelineGets: (k, n) => {
      const p = kv.pipeline();
      for (let i = 0; i < n; i++) p.get(k);
      return p.exec();
    },
    close: () => kv.close(),
  };
}

async function ioredis(host: string, port: number): Promise<RedisContender> {
  const { Redis } = await import("ioredis");
  const io = new Redis({ host, port, enableAutoPipelining: true, lazyConnect: true });
  await io.connect();
  return {
    get: (k) => io.get(k),
    set: (k, v) => io.set(k, v),
    hgetall: (k) => io.hgetall(k),
    mget: (keys) => io.mget(keys),
    lrange: (k, a, b) => io.lrange(k, a, b),
    pipelineGets: (k, n) => {
      const p = io.pipeline();
      for (let i = 0; i < n; i++) p.get(k);
      return p.exec();
    },
    close: () => io.quit(),
  };
}

async function nodeRedis(host: string, port: number): Promise<RedisContender> {
  const { createClient } = await import("redis");
  const nr = createClient({ socket: { host, port } });
  await nr.connect();
  return {
    get: (k) => nr.get(k),
    set: (k, v) => nr.set(k, v),
    hgetall: (k) => nr.hGetAll(k),
    mget: (keys) => nr.mGet(keys),
    lrange: (k, a, b) => nr.lRange(k, a, b),
    pipelineGets: (k, n) => {
      const m = nr.multi();
      for (let i = 0; i < n; i++) m.get(k);
      return m.execAsPipeline();
    },
    close: () => nr.quit(),
  };
}

async function glide(host: string, port: number): Promise<RedisContender> {
  const { Batch, GlideClient } = await import("@valkey/valkey-glide");
  const gl = await GlideClient.createClient({
    addresses: [{ host, port }],
    requestTimeout: GLIDE_TIMEOUT_MS,
  });
  return {
    get: (k) => gl.get(k),
    set: (k, v) => gl.set(k, v),
    hgetall: (k) => gl.hgetall(k),
    mget: (keys) => gl.mget(keys),
    lrange: (k, a, b) => gl.lrange(k, a, b),
    pipelineGets: (k, n) => {
      const batch = new Batch(false);
      for (let i = 0; i < n; i++) batch.get(k);
      return gl.exec(batch, false);
    },
    close: () => gl.close(),
  };
}

async function bun(host: string, port: number): Promise<RedisContender> {
  const client = new BunRedis!(`redis://${host}:${port}`);
  await client.connect();
  return {
    get: (k) => client.get(k),
    set: (k, v) => client.set(k, v),
    hgetall: (k) => client.hgetall(k),
    mget: (keys) => client.mget(...keys),
    lrange: (k, a, b) => client.lrange(k, a, b),
    // No explicit pipeline: Bun's client pipelines concurrent calls by itself.
    pipelineGets: (k, n) => {
      const batch = new Array(n);
      for (let i = 0; i < n; i++) batch[i] = client.get(k);
      return Promise.all(batch);
    },
    close: () => client.close(),
  };
}
