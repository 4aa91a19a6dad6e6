// The README's Redis examples, taken from README.md as written, run against a real redis-server:
// the whole "Using it" block (in a database of its own), and the Lua example answers what its
// comment says (after the README's own INCRs of "n").
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { RedisClient } from "../../src/redis/client.ts";
import { redisAddress } from "../_helpers/servers.ts";

const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
const addr = await redisAddress();
const prefix = `readme:${crypto.randomUUID()}:`;
const redis = await RedisClient.connect({ ...addr, decode: true });
after(() => redis.close());

test("README: the Lua script example runs and returns the value its comment states", async () => {
  const script = /registerScript\("([^"]+)"\)/.exec(readme);
  const call = /\.run\((\[[^\]]*\]), (\[[^\]]*\])\);(?: \/\/ (-?\d+))?/.exec(readme);
  assert.ok(script && call, "README has registerScript(...) and run(keys, args)");
  // The state the README's example builds before the script: SET foo, then INCR n twice.
  await redis.set(`${prefix}foo`, "bar");
  await redis.incr(`${prefix}n`);
  await redis.incr(`${prefix}n`);
  const keys = (JSON.parse(call[1]) as string[]).map((k) => prefix + k);
  const args = JSON.parse(call[2]) as (string | number)[];
  const result = await redis.registerScript(script[1]).run(keys, args);
  assert.ok(call[3] !== undefined, "the README states the result in a comment");
  assert.equal(result, Number(call[3]));
  await redis.del(`${prefix}foo`, `${prefix}n`);
});

/** The README's main Redis example: the ```ts block of "Using it" that registers a script. */
function usingItBlock(): string {
  const section = readme.slice(readme.indexOf("## Using it"), readme.indexOf("### memcache"));
  const blocks = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
  const block = blocks.find((b) => b.includes("registerScript"));
  assert.ok(block, "README's Using it has the Redis example");
  return block;
}

/**
 * The block as the body of an async function: the import goes (RedisClient is a parameter), the
 * URL names our server and database 11, and `await using` (a SyntaxError on Node 20) becomes a
 * `const` disposed at the end in reverse order, as `await using` would.
 */
function runnable(block: string, url: string): string {
  const disposed: string[] = [];
  const body = block
    .replace(/^import .*$/m, "")
    .replaceAll('"redis://127.0.0.1:6379"', JSON.stringify(url))
    .replace(/await using (\w+) =/g, (_, name: string) => {
      disposed.unshift(name);
      return `const ${name} =`;
    });
  return body + disposed.map((name) => `await ${name}[Symbol.asyncDispose]();\n`).join("");
}

test("README: the Using it Redis example runs as written against a real server", async () => {
  const db = await RedisClient.connect({ ...addr, db: 11, decode: true });
  try {
    // What the example waits for: a job to pop and a message on "news" (published below).
    await db.del("foo", "n", "k", "x", "y", "counter", "jobs", "nightly-job");
    await db.send("RPUSH", "jobs", "job-1");
    const url = `redis://${addr.host}:${addr.port}/11`;
    const quiet = { log: (): void => {} };
    const AsyncFunction = (async () => {}).constructor as new (
      ...args: string[]
    ) => (client: typeof RedisClient, console: typeof quiet) => Promise<void>;
    const run = new AsyncFunction("RedisClient", "console", runnable(usingItBlock(), url))(
      RedisClient,
      quiet,
    );
    let done = false;
    const finished = run.finally(() => (done = true));
    // The example's pub/sub loop ends at its first message: publish once it has subscribed.
    while (!done && Number(((await db.send("PUBSUB", "NUMSUB", "news")) as unknown[])[1]) === 0) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    if (!done) await db.publish("news", "hello");
    await finished;
    assert.equal(await db.get("foo"), "bar");
    assert.equal(await db.get("counter"), "1", "the optimistic transaction ran");
    assert.equal(await db.send("LLEN", "jobs"), 0, "blPop took the job");
    await db.del("foo", "n", "k", "x", "y", "counter");
  } finally {
    await db.close();
  }
});

test("README: the Observing a client example runs as written and logs what it says", async () => {
  const section = readme.slice(
    readme.indexOf("### Observing a client"),
    readme.indexOf("## Performance"),
  );
  const block = section.match(/```ts\n([\s\S]*?)```/)?.[1];
  assert.ok(block, "README's Observing a client has an example");
  const lines: string[] = [];
  const record = (level: string) => (...args: unknown[]): void => {
    lines.push(`${level} ${String(args[0])}`);
  };
  const fakeConsole = {
    debug: record("debug"),
    info: record("info"),
    warn: record("warn"),
    error: record("error"),
    log: (value: unknown): void => void lines.push(`log ${JSON.stringify(value)}`),
  };
  const body = block.replace(/^import .*$/m, "").replace("port: 6379", `port: ${addr.port}`) +
    "\nawait redis.close();\n";
  const AsyncFunction = (async () => {}).constructor as new (
    ...args: string[]
  ) => (client: typeof RedisClient, console: typeof fakeConsole) => Promise<void>;
  await new AsyncFunction("RedisClient", "console", body)(RedisClient, fakeConsole);
  assert.ok(lines.some((l) => /^debug redis .*: connect /.test(l)), lines.join("\n"));
  const stats = JSON.parse(lines.find((l) => l.startsWith("log "))!.slice(4));
  for (const field of ["state", "inFlight", "queued", "reconnects", "bytesIn", "bytesOut"]) {
    assert.ok(field in stats, `stats() has ${field}`);
  }
  assert.equal(stats.state, "ready");
  assert.ok(stats.members.length >= 1 && stats.bytesOut > 0);
  assert.ok(lines.some((l) => /^info redis .*: disconnect /.test(l)), "close() is logged at info");
});
