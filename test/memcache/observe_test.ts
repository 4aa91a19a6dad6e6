// Observability of MemcacheClient against real memcached processes: lifecycle and serverDown/
// serverUp events across a kill and restart, stats() per server, one Operation per method
// (names, server, failover redirections, error codes), throwing listeners and hooks, secrets.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import * as net from "node:net";
import { join } from "node:path";
import process from "node:process";
import { MemcacheClient } from "../../src/memcache/client.ts";
import { KetamaRing } from "../../src/memcache/ketama.ts";
import type { MemcacheEvents } from "../../src/memcache/observe.ts";
import {
  findBinary,
  freePorts,
  type MemcachedServer,
  startMemcached,
} from "../../scripts/servers.ts";
import { recordEvents, recordLog, recordOperations } from "../_helpers/observe_recorder.ts";
import { eventually, stopped } from "../_helpers/process_state.ts";

const servers: MemcachedServer[] = await Promise.all([0, 1].map(() => startMemcached()));
const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await Promise.all(servers.map((s) => s.stop()));
});

const addr = (s: { host: string; port: number }): string => `${s.host}:${s.port}`;
const EVENTS: (keyof MemcacheEvents)[] = [
  "connect",
  "ready",
  "disconnect",
  "reconnecting",
  "error",
  "serverDown",
  "serverUp",
];

/** Every event of `mc` as [name, payload], in order. */
const record = (mc: MemcacheClient): [string, Record<string, unknown>][] =>
  recordEvents<MemcacheEvents>(mc, EVENTS) as [string, Record<string, unknown>][];

/** A key the ring of `addresses` places on `addresses[index]`. */
function keyOn(addresses: string[], index: number, prefix: string): string {
  const ring = new KetamaRing(addresses.map((a) => {
    const [host, port] = a.split(":");
    return { host, port: Number(port) };
  }));
  for (let i = 0;; i++) {
    const key = `${prefix}:${i}`;
    if (ring.lookup(new TextEncoder().encode(key)) === index) return key;
  }
}

/** Starts memcached on a given port (after a kill), stopped at the end of the file. */
async function restartOn(port: number): Promise<ChildProcess> {
  const args = ["-l", "127.0.0.1", "-p", String(port), "-U", "0"];
  if (process.getuid?.() === 0) args.push("-u", "root");
  const child = spawn(await findBinary("memcached"), args, { stdio: "ignore" });
  cleanups.push(() => child.kill("SIGKILL"));
  await eventually("memcached to come back", () =>
    new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1", () => {
        socket.destroy();
        resolve(true);
      });
      socket.on("error", () => resolve(false));
    }));
  return child;
}

test("memcache events: a killed and restarted server goes disconnect, serverDown, then ready (reconnect) and serverUp", async () => {
  const victim = await startMemcached();
  cleanups.push(() => victim.stop());
  const mc = await MemcacheClient.connect([addr(victim)], { deadRetry: 200 });
  cleanups.push(() => mc.destroy());
  const seen = record(mc);
  await mc.set("obs:life", "1");
  const pid = Number.parseInt(readFileSync(join(victim.dir, "memcached.pid"), "utf8"), 10);
  process.kill(pid, "SIGKILL");
  await eventually("the loss", () => seen.some(([name]) => name === "serverDown"));
  await restartOn(victim.port);
  await eventually(
    "a request to succeed again",
    () => mc.set("obs:life", "2").then(() => true, () => false),
  );
  const names = seen.map(([name]) => name);
  const down = names.indexOf("disconnect");
  assert.ok(down >= 0, `a disconnect: ${names}`);
  assert.equal(seen[down][1].willReconnect, true);
  assert.ok(seen[down][1].error instanceof Error);
  assert.equal(seen[down][1].address, addr(victim));
  const serverDown = seen.find(([name]) => name === "serverDown")![1];
  assert.equal(serverDown.retryIn, 200);
  assert.ok(serverDown.error instanceof Error);
  assert.ok(names.indexOf("reconnecting") > down, `reconnecting after the loss: ${names}`);
  const ready = names.lastIndexOf("ready");
  assert.ok(ready > down, `ready again: ${names}`);
  assert.equal(seen[ready][1].reconnect, true);
  assert.ok(names.lastIndexOf("connect") > down && names.lastIndexOf("connect") < ready);
  assert.ok(names.indexOf("serverUp") > down, `serverUp: ${names}`);
  assert.equal(names.filter((n) => n === "serverDown").length, 1, "one serverDown per outage");
  assert.ok(names.indexOf("serverDown") > down, `serverDown follows its disconnect: ${names}`);
  assert.ok(
    !seen.some(([name, e]) => name === "error" && (e.error as Error).name === "ServerDeadError"),
    "an attempt skipped because the server is dead is no error",
  );
  const stats = mc.stats();
  assert.equal(stats.reconnects, 1);
  assert.equal(stats.members[0].dead, false);
  assert.equal(stats.state, "ready");
  assert.match(stats.members[0].lastError ?? "", /ConnectionClosedError|ServerDeadError/);
});

test("memcache operations: one per method, named, with the server they went to", async () => {
  const { hook, ended: ops } = recordOperations();
  const addresses = servers.map(addr);
  const mc = await MemcacheClient.connect(addresses, { instrumentation: hook });
  cleanups.push(() => mc.destroy());
  const k = keyOn(addresses, 1, "obs:op");
  const n = keyOn(addresses, 1, "obs:opn");
  const d = keyOn(addresses, 1, "obs:opd");
  await mc.set(k, "v");
  await mc.get(k);
  await mc.gets(k);
  await mc.getRaw(k);
  await mc.add(k, "v");
  await mc.replace(k, "w");
  await mc.append(k, "x");
  await mc.prepend(k, "y");
  const cas = (await mc.gets(k))!.cas;
  await mc.cas(k, "z", cas);
  await mc.touch(k, 100);
  await mc.set(n, "5");
  await mc.incr(n);
  await mc.decr(n);
  await mc.metaGet(k);
  await mc.meta("mg", k, ["v"]);
  await mc.delete(k);
  await mc.setMulti({ [`${k}:a`]: 1, [`${k}:b`]: 2, "obs:op:other": 3 });
  await mc.getMulti([`${k}:a`, `${k}:b`, "obs:op:other"]);
  await mc.deleteMulti([d]);
  await mc.version();
  await mc.serverStats();
  await mc.flushAll();
  assert.deepEqual(ops.map((op) => op.operation), [
    "set",
    "get",
    "gets",
    "get_raw",
    "add",
    "replace",
    "append",
    "prepend",
    "gets",
    "cas",
    "touch",
    "set",
    "incr",
    "decr",
    "meta_get",
    "mg",
    "delete",
    "set_multi",
    "get_multi",
    "delete_multi",
    "version",
    "stats",
    "flush_all",
  ]);
  for (const op of ops) {
    assert.equal(op.protocol, "memcache");
    assert.equal(op.kind, "request");
    assert.equal(op.errorCode, undefined, `${op.operation} succeeded`);
    assert.ok(op.duration! >= 0 && op.endTime! >= op.startTime);
  }
  const single = ops.filter((op) => op.batchSize === undefined);
  for (const op of single) {
    assert.equal(op.serverAddress, "127.0.0.1", op.operation);
    assert.equal(op.serverPort, servers[1].port, op.operation);
  }
  const setMulti = ops.find((op) => op.operation === "set_multi")!;
  assert.equal(setMulti.batchSize, 3);
  const deleteMulti = ops.find((op) => op.operation === "delete_multi")!;
  assert.equal(deleteMulti.batchSize, 1);
  assert.equal(deleteMulti.serverPort, servers[1].port, "a batch on one server names it");
  const version = ops.find((op) => op.operation === "version")!;
  assert.equal(version.batchSize, 2);
  assert.equal(version.serverAddress, undefined, "a request to every server names none");
});

test("memcache operations: a server error and a timeout carry their error code; stats show the wait", async () => {
  const frozen = await startMemcached();
  cleanups.push(() => frozen.stop());
  const { hook, ended: ops } = recordOperations();
  const mc = await MemcacheClient.connect([addr(frozen)], {
    instrumentation: hook,
    commandTimeout: 300,
    deadRetry: 60_000,
  });
  cleanups.push(() => mc.destroy());
  await mc.set("obs:text", "not a number");
  await assert.rejects(mc.incr("obs:text"), (e: Error & { code?: string }) => e.code === "SERVER");
  assert.equal(ops.at(-1)!.operation, "incr", JSON.stringify(ops));
  assert.equal(ops.at(-1)!.errorCode, "SERVER");
  const before = mc.stats();
  assert.ok(before.bytesOut > 0 && before.bytesIn > 0, JSON.stringify(before));
  assert.equal(before.inFlight, 0, JSON.stringify(before));
  const pid = Number.parseInt(readFileSync(join(frozen.dir, "memcached.pid"), "utf8"), 10);
  process.kill(pid, "SIGSTOP");
  await eventually("the server to be stopped", () => stopped(pid));
  try {
    const waiting = mc.get("obs:text");
    await eventually("the get to be written", () => mc.stats().inFlight > 0);
    assert.equal(mc.stats().members[0].inFlight, 1);
    await assert.rejects(waiting, (e: Error & { code?: string }) => e.code === "TIMEOUT");
  } finally {
    process.kill(pid, "SIGCONT");
  }
  const timedOut = ops.at(-1)!;
  assert.equal(timedOut.operation, "get");
  assert.equal(timedOut.errorCode, "TIMEOUT");
  assert.ok(timedOut.duration! >= 250, `the get waited for its deadline: ${timedOut.duration}`);
  const after = mc.stats();
  assert.ok(after.bytesOut > before.bytesOut, "bytes out grew");
  assert.equal(after.members[0].dead, true, "a server gone silent is marked dead");
});

test("memcache failover: a request sent to a dead server and moved counts one redirection", async () => {
  const [closed] = await freePorts(1);
  const addresses = [addr(servers[0]), `127.0.0.1:${closed}`];
  const { hook, ended: ops } = recordOperations();
  const seen: MemcacheEvents["serverDown"][] = [];
  const mc = new MemcacheClient({
    servers: addresses,
    failover: true,
    instrumentation: hook,
  });
  cleanups.push(() => mc.destroy());
  mc.on("serverDown", (e) => seen.push(e));
  const key = keyOn(addresses, 1, "obs:fo");
  assert.equal(await mc.set(key, "moved"), true);
  assert.equal(seen.length, 1);
  assert.equal(seen[0].address, `127.0.0.1:${closed}`);
  assert.equal(seen[0].error.name, "ConnectError");
  const op = ops.at(-1)!;
  assert.equal(op.operation, "set");
  assert.equal(op.redirections, 1);
  assert.equal(op.serverPort, servers[0].port, "the operation names where it ran");
  const stats = mc.stats();
  assert.deepEqual(stats.members.map((m) => [m.address, m.dead]), [
    [addresses[0], false],
    [addresses[1], true],
  ]);
  // Known dead now: routed to the live server from the start.
  await mc.get(key);
  assert.equal(ops.at(-1)!.redirections, 0);
  assert.equal(ops.at(-1)!.serverPort, servers[0].port);
});

test("memcache: a throwing listener or hook changes nothing for the caller", async () => {
  const reported: MemcacheEvents["error"][] = [];
  const mc = new MemcacheClient({
    servers: [addr(servers[0])],
    instrumentation: {
      onStart: () => {
        throw new Error("hook start");
      },
      onEnd: () => {
        throw new Error("hook end");
      },
    },
  });
  cleanups.push(() => mc.destroy());
  mc.on("ready", () => {
    throw new Error("listener");
  });
  mc.on("error", (e) => reported.push(e));
  assert.equal(await mc.set("obs:throw", "1"), true);
  assert.equal(await mc.get("obs:throw"), "1");
  assert.equal(reported.length, 1);
  assert.equal(reported[0].source, "listener");
  assert.equal(reported[0].error.message, "listener");
});

test("memcache secrets: no event, operation or log line shows the password, a key or a value", async () => {
  const PASSWORD = "pw-obs-41c2-never-shown";
  const sasl = await startMemcached({ sasl: { username: "kvwire", password: PASSWORD } });
  cleanups.push(() => sasl.stop());
  const { logger, lines } = recordLog();
  const { hook, ended: ops } = recordOperations();
  const payloads: string[] = [];
  const make = (password: string): MemcacheClient => {
    const mc = new MemcacheClient({
      servers: [addr(sasl)],
      username: "kvwire",
      password,
      logger,
      instrumentation: hook,
    });
    for (const name of EVENTS) mc.on(name, (e) => payloads.push(JSON.stringify(e)));
    cleanups.push(() => mc.destroy());
    return mc;
  };
  const mc = make(PASSWORD);
  await mc.set("obs:secret-key-9d1", "secret-value-5e7");
  assert.equal(await mc.get("obs:secret-key-9d1"), "secret-value-5e7");
  await mc.getMulti(["obs:secret-key-9d1"]);
  await mc.disconnectAll();
  await mc.get("obs:secret-key-9d1");
  const wrong = make(`${PASSWORD}-wrong`);
  await assert.rejects(wrong.get("obs:secret-key-9d1"));
  await mc.close();
  assert.ok(payloads.length >= 4 && lines.length >= 4 && ops.length >= 5);
  const everything = [...payloads, ...lines, ...ops.map((op) => JSON.stringify(op))];
  for (const text of everything) {
    for (const secret of [PASSWORD, "secret-key-9d1", "secret-value-5e7"]) {
      assert.ok(!text.includes(secret), `shows ${secret}: ${text}`);
    }
  }
});
