// The typed-command coverage ratchet (issue #15): every command and subcommand the real
// redis-server lists in COMMAND DOCS either has a client method, or a documented exclusion.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { RedisClient } from "../../src/redis/client.ts";
import {
  COMMAND_EXCLUSIONS,
  COMMAND_METHODS,
  COMMANDS_SINCE,
} from "../../src/redis/commands/coverage.ts";
import { redisAddress } from "../_helpers/servers.ts";

/**
 * Commands with a method, counted against redis-server 7.0's 351 (every command but the
 * documented exclusions). Raise it when methods are added; it may never go down.
 */
const COVERED_AT_LEAST = 335;

let client: RedisClient<string>;
let names: string[];

before(async () => {
  client = await RedisClient.connect({ ...(await redisAddress()), decode: true });
  names = serverCommands(await client.send("COMMAND", "DOCS"));
});
after(() => client.close());

/** Names from COMMAND DOCS: a container (CLIENT, ACL...) counts as its subcommands only. */
function serverCommands(docs: unknown): string[] {
  const entries = docs instanceof Map ? [...docs] : pairs(docs as unknown[]);
  const out: string[] = [];
  for (const [name, doc] of entries) {
    const fields = doc instanceof Map ? doc : new Map(pairs(doc as unknown[]));
    const subs = fields.get("subcommands");
    const subNames = subs instanceof Map
      ? [...subs.keys()]
      : subs
      ? pairs(subs).map((p) => p[0])
      : [];
    if (subNames.length === 0) out.push(String(name).toUpperCase());
    for (const sub of subNames) out.push(String(sub).toUpperCase().replace("|", " "));
  }
  return out.sort();
}

function pairs(flat: unknown[]): [unknown, unknown][] {
  const out: [unknown, unknown][] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i], flat[i + 1]]);
  return out;
}

test("redis command coverage: every table entry names a method of the client", () => {
  const proto = RedisClient.prototype as unknown as Record<string, unknown>;
  const broken = Object.entries(COMMAND_METHODS).filter(([, m]) => typeof proto[m] !== "function");
  assert.deepStrictEqual(broken, []);
});

test("redis command coverage: commands newer than the server name methods and versions", () => {
  const proto = RedisClient.prototype as unknown as Record<string, unknown>;
  for (const [name, { method, since }] of Object.entries(COMMANDS_SINCE)) {
    assert.equal(typeof proto[method], "function", `${name}: ${method} is not a method`);
    assert.match(
      since,
      /^(Redis \d+\.\d+(, Valkey \d+\.\d+)?|Valkey \d+\.\d+)$/,
      `${name}: since "${since}"`,
    );
    assert.equal(COMMAND_METHODS[name], undefined, `${name} is in both tables`);
  }
});

test("redis command coverage: exclusions are real commands, documented, and not typed", () => {
  for (const [name, reason] of Object.entries(COMMAND_EXCLUSIONS)) {
    assert.ok(names.includes(name), `${name} is not a command of the server`);
    assert.ok(reason.length > 20, `${name} needs its reason`);
    assert.equal(COMMAND_METHODS[name], undefined, `${name} is both typed and excluded`);
  }
  for (const name of Object.keys(COMMAND_METHODS)) {
    assert.ok(names.includes(name), `${name} is not a command of the server`);
  }
});

test("redis command coverage: covered count never goes below the ratchet", () => {
  const typed = (n: string): boolean => COMMAND_METHODS[n] !== undefined || n in COMMANDS_SINCE;
  const covered = names.filter(typed);
  const missing = names.filter((n) => !typed(n) && !COMMAND_EXCLUSIONS[n]);
  const excluded = names.length - covered.length - missing.length;
  console.log(
    `redis command coverage: ${covered.length}/${names.length} covered, ${excluded} excluded, ` +
      `${missing.length} missing: ${missing.join(", ")}`,
  );
  assert.ok(
    covered.length >= COVERED_AT_LEAST,
    `${covered.length} covered, fewer than the ratchet ${COVERED_AT_LEAST}`,
  );
  assert.deepStrictEqual(missing, [], "every command is typed or a documented exclusion");
});
