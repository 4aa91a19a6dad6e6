// Tests of the server administration commands (src/redis/commands/server_admin.ts) on real
// redis-servers: the read-only ones on the shared server in every mode; SAVE, SHUTDOWN,
// REPLICAOF, FAILOVER, SWAPDB, MIGRATE, MODULE and DEBUG on throw-away servers of this file.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { RedisClient } from "../../src/redis/client.ts";
import { TimeoutError } from "../../src/core/errors.ts";
import { RedisError } from "../../src/redis/errors.ts";
import { eq, prefix, redisModes } from "../_helpers/redis_modes.ts";
import { eventually } from "../_helpers/process_state.ts";
import { type RedisProcess, startRedisProcess } from "./_redis_process.ts";

const { each } = redisModes("server admin");

each("latencyHistogram counts calls per bucket", async ({ client }) => {
  await client.ping();
  const histograms = await client.latencyHistogram("ping", "set");
  const ping = histograms.get("ping");
  assert.ok(ping && ping.calls >= 1, "PING was counted");
  assert.ok(ping.histogramUsec.size >= 1);
  const total = Math.max(...ping.histogramUsec.values());
  assert.equal(total, ping.calls, "buckets are cumulative up to every call");
  for (const bound of ping.histogramUsec.keys()) assert.equal(typeof bound, "number");
});

each("lolwut, pfSelfTest and the PFDEBUG subcommands", async ({ client }) => {
  assert.match(await client.lolwut(5), /Georg Nees/);
  assert.match(await client.lolwut(), /Redis ver\. 7/);
  assert.equal(await client.pfSelfTest(), true);
  const k = prefix() + "hll";
  await client.pfAdd(k, "a", "b", "c");
  assert.equal(await client.pfDebugEncoding(k), "sparse");
  assert.equal(await client.pfDebugToDense(k), true);
  assert.equal(await client.pfDebugEncoding(k), "dense");
  assert.equal(await client.pfDebugToDense(k), false, "already dense");
  const registers = await client.pfDebugGetReg(k);
  assert.equal(registers.length, 16384);
  assert.equal(registers.filter((r) => r > 0).length, 3);
});

each("DEBUG and MODULE LOAD refused by the shared server are RedisErrors", async ({ client }) => {
  await assert.rejects(
    client.debugObject("k"),
    (e) => e instanceof RedisError && /DEBUG command not allowed/.test(e.message),
  );
  assert.deepStrictEqual(await client.moduleList(), []);
  await assert.rejects(
    client.moduleLoad("/nonexistent/kvwire-module.so"),
    (e) => e instanceof RedisError && /MODULE command not allowed/.test(e.message),
  );
});

each("waitAof on a server older than 7.2 is a RedisError", async ({ client }) => {
  await assert.rejects(
    client.waitAof(1, 0, 0),
    (e) => e instanceof RedisError && /unknown/.test(e.message),
  );
});

each("pubsubShardChannels and pubsubShardNumSub", async ({ client, v }) => {
  const channel = prefix() + "shard";
  await using subscriber = client.pubsub();
  await subscriber.ssubscribe(channel);
  eq(await client.pubsubShardChannels(channel), [v(channel)]);
  eq(await client.pubsubShardChannels(prefix() + "*"), []);
  assert.deepStrictEqual(
    await client.pubsubShardNumSub(channel, "nobody"),
    new Map([[channel, 1], ["nobody", 0]]),
  );
});

// Throw-away servers: `primary` may load modules; `secondary` receives MIGRATE and replicates.
let primary: RedisProcess;
let secondary: RedisProcess;
before(async () => {
  [primary, secondary] = await Promise.all([
    startRedisProcess(["--enable-module-command", "local"]),
    startRedisProcess(),
  ]);
});
after(() => Promise.all([primary.stop(), secondary.stop()]));

const MODES = [[2, false], [3, false], [2, true], [3, true]] as const;

/** Runs `body` with a client of `server` in each protocol, bytes and decoded. */
async function inEveryMode(
  server: RedisProcess,
  body: (client: RedisClient<unknown>, mode: string) => Promise<void>,
): Promise<void> {
  for (const [protocol, decode] of MODES) {
    const client = await RedisClient.connect({ port: server.port, protocol, decode });
    try {
      await body(client as RedisClient<unknown>, `RESP${protocol} ${decode ? "text" : "bytes"}`);
    } finally {
      await client.close();
    }
  }
}

/** Resolves once no background save or AOF rewrite runs on the client's server. */
async function persistenceIdle(client: RedisClient<unknown>): Promise<void> {
  await eventually("persistence to be idle", async () => {
    const p = (await client.info("persistence")).persistence;
    return p.rdb_bgsave_in_progress === 0 && p.aof_rewrite_in_progress === 0 &&
      p.aof_rewrite_scheduled === 0;
  });
}

test("redis server admin: save, bgSave, bgRewriteAof", async () => {
  await inEveryMode(primary, async (client, mode) => {
    await persistenceIdle(client);
    assert.equal(await client.save(), true, mode);
    const saved = await client.lastSave();
    assert.ok(Math.abs(saved - Date.now() / 1000) < 5, mode);
    assert.match(await client.bgSave({ schedule: true }), /^Background saving (started|scheduled)/);
    await persistenceIdle(client);
    assert.match(await client.bgRewriteAof(), /^Background append only file rewriting/);
    await persistenceIdle(client);
    assert.equal((await client.info("persistence")).persistence.aof_last_bgrewrite_status, "ok");
  });
});

test("redis server admin: debugObject and debugSleep where DEBUG is enabled", async () => {
  await inEveryMode(primary, async (client, mode) => {
    const k = prefix() + "d";
    await client.set(k, "some text");
    const object = await client.debugObject(k);
    assert.equal(object.encoding, "embstr", mode);
    assert.equal(object.refcount, 1, mode);
    assert.equal(typeof object.serializedlength, "number", mode);
    assert.equal(await client.debugSleep(0), true);
    await assert.rejects(client.debugObject(prefix() + "missing"), RedisError);
  });
});

test("redis server admin: swapDb swaps databases for every client", async () => {
  await inEveryMode(primary, async (client, mode) => {
    const k = prefix() + "swap";
    await client.set(k, "in db 0");
    assert.equal(await client.swapDb(0, 1), true);
    assert.equal(await client.exists(k), 0, mode);
    const db1 = await RedisClient.connect({ port: primary.port, db: 1, decode: true });
    try {
      assert.equal(await db1.get(k), "in db 0", mode);
    } finally {
      await db1.close();
    }
    assert.equal(await client.swapDb(1, 0), true);
    assert.equal(await client.exists(k), 1, mode);
  });
});

test("redis server admin: MODULE LIST, LOAD, LOADEX, UNLOAD", async () => {
  await inEveryMode(primary, async (client, mode) => {
    assert.deepStrictEqual(await client.moduleList(), [], mode);
    const missing = "/nonexistent/kvwire-module.so";
    await assert.rejects(client.moduleLoad(missing, "arg"), /Error loading the extension/);
    await assert.rejects(
      client.moduleLoadEx(missing, { config: { "x.y": "1" }, args: ["a"] }),
      /Error loading the extension/,
    );
    await assert.rejects(client.moduleUnload("kvwire-none"), /no such module/);
  });
});

test("redis server admin: migrate one key, several, COPY, REPLACE, NOKEY", async () => {
  const target = await RedisClient.connect({ port: secondary.port, decode: true });
  try {
    await inEveryMode(primary, async (client, mode) => {
      const p = prefix();
      await client.mSet({ [p + "a"]: "1", [p + "b"]: "2", [p + "c"]: "3" });
      const host = "127.0.0.1";
      assert.equal(await client.migrate(host, secondary.port, p + "a"), "OK", mode);
      assert.equal(await client.exists(p + "a"), 0, "moved");
      assert.equal(await target.get(p + "a"), "1");
      assert.equal(
        await client.migrate(host, secondary.port, [p + "b", p + "c"], { copy: true }),
        "OK",
      );
      assert.equal(await client.exists(p + "b", p + "c"), 2, "copied");
      await client.set(p + "b", "22");
      await assert.rejects(
        client.migrate(host, secondary.port, p + "b", { copy: true }),
        /BUSYKEY/,
      );
      assert.equal(
        await client.migrate(host, secondary.port, p + "b", { replace: true, timeoutMs: 2000 }),
        "OK",
      );
      assert.equal(await target.get(p + "b"), "22");
      assert.equal(await client.migrate(host, secondary.port, p + "none"), "NOKEY");
      await assert.rejects(
        client.migrate(host, secondary.port, p + "c", { auth: { username: "u", password: "x" } }),
        RedisError,
      );
      assert.throws(() => client.migrate(host, secondary.port, []), RangeError);
    });
  } finally {
    await target.close();
  }
});

test("redis server admin: replicaOf, slaveOf, failover and failoverAbort", async () => {
  await inEveryMode(primary, async (master, mode) => {
    const replica = await RedisClient.connect({ port: secondary.port });
    try {
      await assert.rejects(master.failoverAbort(), /No failover in progress/);
      assert.equal(await replica.replicaOf({ host: "127.0.0.1", port: primary.port }), true);
      await eventually("the replica to sync", async () => {
        const role = await replica.role();
        return role.role === "slave" && role.state === "connected";
      });
      await eventually("the master to list its replica", async () => {
        const role = await master.role();
        return role.role === "master" && role.replicas.length === 1;
      });
      assert.throws(() => master.failover({ to: { host: "h", port: 1, force: true } }), TypeError);
      assert.equal(await master.failover({ timeoutMs: 10_000 }), true, mode);
      // The master turns replica first; its replica is promoted once it gets PSYNC FAILOVER.
      await eventually(
        "the failover",
        async () =>
          (await master.role()).role === "slave" && (await replica.role()).role === "master",
      );
      assert.equal(await master.replicaOf("NO ONE"), true);
      assert.equal(await replica.slaveOf("NO ONE"), true);
      assert.equal((await master.role()).role, "master");
      assert.equal((await replica.role()).role, "master");
    } finally {
      await replica.close();
    }
  });
});

test("redis server admin: shutdown resolves when the server closes the connection", async () => {
  const server = await startRedisProcess();
  try {
    await inEveryMode(server, async (client, mode) => {
      await assert.rejects(client.shutdownAbort(), /No shutdown in progress/);
      assert.equal(await client.shutdown({ save: false, now: true, force: true }), true, mode);
      await server.restart(); // resolves once the old process exited, then starts it again
      assert.equal(await client.ping(), "PONG", "the client reconnects to the new server");
    });
  } finally {
    await server.stop();
  }
});

test("redis server admin: a SHUTDOWN whose server went silent is a TimeoutError, not a success", async () => {
  const server = await startRedisProcess();
  const client = await RedisClient.connect({ port: server.port, commandTimeout: 200 });
  try {
    server.signal("SIGSTOP");
    await assert.rejects(client.shutdown(), (e) => e instanceof TimeoutError && e.sent);
  } finally {
    server.signal("SIGCONT");
    client.destroy();
    await server.stop();
  }
});
