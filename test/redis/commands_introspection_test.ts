// Tests of the COMMAND subcommands (src/redis/commands/introspection.ts) against a real
// redis-server: RESP2 (flat arrays) and RESP3 (maps, sets) give the same shapes.

import assert from "node:assert/strict";
import { eq, redisModes } from "../_helpers/redis_modes.ts";

const { each } = redisModes("introspection");

each("commandCount, commandList with filters", async ({ client }) => {
  const count = await client.commandCount();
  assert.ok(count > 200);
  const all = await client.commandList();
  assert.equal(all.filter((name) => !name.includes("|")).length, count, "plus subcommands");
  assert.ok(all.includes("client|list"));
  assert.ok(all.includes("get"));
  assert.deepStrictEqual((await client.commandList({ pattern: "xinfo|s*" })).sort(), [
    "xinfo|stream",
  ]);
  const geo = await client.commandList({ aclCategory: "geo" });
  assert.ok(geo.includes("geoadd") && !geo.includes("get"));
  assert.throws(() => client.commandList({ pattern: "a", aclCategory: "b" }), TypeError);
});

each("commandInfo and commandDocs", async ({ client }) => {
  const [get, missing, set] = await client.commandInfo("get", "nosuchcommand", "SET");
  assert.deepStrictEqual(get, {
    name: "get",
    arity: 2,
    flags: ["readonly", "fast"],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    aclCategories: ["@read", "@string", "@fast"],
  });
  assert.equal(missing, null);
  assert.equal(set?.arity, -3);
  const docs = await client.commandDocs("get", "client");
  const doc = docs.get("get")!;
  assert.equal(doc.group, "string");
  assert.equal(doc.since, "1.0.0");
  assert.deepStrictEqual(doc.arguments, [{ name: "key", type: "key", key_spec_index: 0 }]);
  const subs = docs.get("client")!.subcommands as Map<string, Record<string, unknown>>;
  assert.equal(subs.get("client|list")?.since, "2.4.0");
  assert.ok((await client.commandDocs()).size > 200);
});

each("commandGetKeys and commandGetKeysAndFlags", async ({ client, v }) => {
  eq(await client.commandGetKeys("MSET", "a", "1", "b", "2"), [v("a"), v("b")]);
  eq(await client.commandGetKeysAndFlags("LMOVE", "src", "dst", "LEFT", "RIGHT"), [
    [v("src"), ["RW", "access", "delete"]],
    [v("dst"), ["RW", "insert"]],
  ]);
});

each("pipelines", async ({ client }) => {
  const [count, list] = await client.pipeline().commandCount().commandList().exec();
  assert.ok((list as string[]).length > (count as number));
});
