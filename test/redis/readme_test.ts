// The README's Redis Lua example, taken from README.md as written, runs against a real
// redis-server and answers what its comment says (after the README's own INCRs of "n").
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
