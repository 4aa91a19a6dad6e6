// RedisClient.monitor() against a real server in RESP2 and RESP3: parsed lines (time, db, client,
// binary-safe arguments), a dedicated connection, the end on close, break or a lost connection.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  ConnectionClosedError,
  LocalProtocolError,
  RemoteProtocolError,
} from "../../src/core/errors.ts";
import { RedisConnection } from "../../src/redis/connection.ts";
import { RedisClient } from "../../src/redis/client.ts";
import { type MonitorEntry, parseMonitorLine } from "../../src/redis/monitor.ts";
import { type Address, redisAddress } from "../_helpers/servers.ts";

let addr: Address;
let raw: RedisClient<string>;
const clients: RedisClient<unknown>[] = [];
before(async () => {
  addr = await redisAddress();
  raw = await RedisClient.connect({ ...addr, decode: true });
});
after(async () => {
  await Promise.all([raw.close(), ...clients.map((c) => c.close())]);
});

const te = new TextEncoder();

/** The first entries (up to `count`) whose arguments mention `marker`. */
async function collect<V>(
  monitor: AsyncIterable<MonitorEntry<V>>,
  marker: string,
  count: number,
): Promise<MonitorEntry<V>[]> {
  const seen: MonitorEntry<V>[] = [];
  for await (const entry of monitor) {
    if (entry.line.includes(marker)) seen.push(entry);
    if (seen.length === count) break;
  }
  return seen;
}

/** The CLIENT LIST lines of the monitor connections (flags O) named `name`. */
async function monitorClients(name: string): Promise<string[]> {
  const list = await raw.send("CLIENT", "LIST") as string;
  return list.split("\n").filter((line) =>
    line.includes(` name=${name} `) && / flags=O /.test(line)
  );
}

/** A decoding client whose connections (the monitor's too) carry a name of their own. */
async function named(): Promise<{ redis: RedisClient<string>; name: string }> {
  const name = `mon-${crypto.randomUUID().slice(0, 8)}`;
  const redis = await RedisClient.connect({ ...addr, decode: true, clientName: name });
  clients.push(redis as RedisClient<unknown>);
  return { redis, name };
}

for (const protocol of [2, 3] as const) {
  for (const decode of [false, true]) {
    const mode = `RESP${protocol} ${decode ? "text" : "bytes"}`;
    test(`redis monitor [${mode}]: every command another client runs, parsed`, async () => {
      const redis = await RedisClient.connect({ ...addr, protocol, decode });
      clients.push(redis as RedisClient<unknown>);
      const other = await RedisClient.connect({ ...addr, db: 2, decode: true });
      clients.push(other as RedisClient<unknown>);
      const k = `mon:${crypto.randomUUID().slice(0, 8)}`;
      await using monitor = await redis.monitor();
      const seen = collect(monitor, k, 3);
      const value = 'a "q" \\ \n\0é';
      const before = Date.now() / 1000;
      await other.set(k, value);
      await other.eval("return redis.call('GET', KEYS[1])", [k]);
      const entries = await seen;
      const addrOf = (await other.send("CLIENT", "INFO") as string).match(/ addr=(\S+)/)![1];
      const v = (s: string) => decode ? s : te.encode(s);
      assert.deepEqual(entries[0].args, [v("SET"), v(k), v(value)]);
      assert.equal(entries[0].db, 2);
      assert.equal(entries[0].client, addrOf);
      assert.ok(entries[0].time >= Math.floor(before) && entries[0].time < before + 60);
      assert.deepEqual(entries[1].args[0], v("EVAL"));
      assert.equal(entries[2].client, "lua", "the script's own call");
      assert.deepEqual(entries[2].args, [v("GET"), v(k)]);
      assert.equal(await redis.ping(), "PONG", "the client's own connection is free");
    });
  }
}

test("redis monitor: a dedicated connection; close() ends the iteration and closes it", async () => {
  const { redis, name } = await named();
  const monitor = await redis.monitor();
  assert.equal((await monitorClients(name)).length, 1, "one monitor connection");
  assert.equal(await redis.ping(), "PONG", "the client's own connection is not in MONITOR mode");
  const iterating = (async () => {
    for await (const _ of monitor) continue;
    return "ended";
  })();
  await monitor.close();
  assert.equal(await iterating, "ended");
  assert.equal(monitor.closed, true);
  while ((await monitorClients(name)).length > 0) continue; // the server saw it go
});

test("redis monitor: leaving the loop closes it", async () => {
  const { redis } = await named();
  const monitor = await redis.monitor();
  const k = `mon:${crypto.randomUUID().slice(0, 8)}`;
  const seen = collect(monitor, k, 1);
  await raw.get(k);
  assert.equal((await seen).length, 1);
  assert.equal(monitor.closed, true, "break closed it");
});

test("redis monitor: a lost connection ends the iteration with its error", async () => {
  const { redis, name } = await named();
  const monitor = await redis.monitor();
  const ended = (async () => {
    for await (const _ of monitor) continue;
  })().then(() => "no error", (error: unknown) => error);
  const [line] = await monitorClients(name);
  await raw.send("CLIENT", "KILL", "ID", line.match(/^id=(\d+)/)![1]);
  assert.ok(await ended instanceof ConnectionClosedError);
  assert.equal(monitor.closed, true);
});

test("parseMonitorLine: escapes, unix and lua clients; malformed lines are protocol errors", () => {
  const line = '1700000000.123456 [3 unix:/tmp/r.sock] "SET" "k\\x00\\xff" "a\\"b\\\\c\\n"';
  const entry = parseMonitorLine(line);
  assert.equal(entry.time, 1700000000.123456);
  assert.equal(entry.db, 3);
  assert.equal(entry.client, "unix:/tmp/r.sock");
  assert.deepEqual(entry.args, [
    te.encode("SET"),
    new Uint8Array([0x6b, 0, 0xff]),
    te.encode('a"b\\c\n'),
  ]);
  assert.deepEqual(parseMonitorLine('1.5 [0 lua] "get" ""', true).args, ["get", ""]);
  for (const bad of ["OK", '1.5 [0 x] "unterminated', '1.5 [0 x] "a"b"', '1.5 [0 x] "\\q"']) {
    assert.throws(() => parseMonitorLine(bad), RemoteProtocolError, bad);
  }
});

test("monitor machine: lines only after MONITOR's OK, only on a monitor connection", () => {
  assert.throws(() => new RedisConnection({ protocol: 2 }).send(["MONITOR"]), LocalProtocolError);
  const conn = new RedisConnection({ protocol: 2, monitor: true });
  const id = conn.send(["MONITOR"]);
  conn.pollTransmit();
  const line = '1.5 [0 127.0.0.1:1] "GET" "k"';
  conn.receive(te.encode(`+OK\r\n+${line}\r\n`));
  assert.deepEqual(conn.nextEvent(), { type: "reply", id, value: "OK" });
  assert.deepEqual(conn.nextEvent(), {
    type: "push",
    value: { type: "push", kind: "monitor", items: [line] },
  });
  conn.receive(te.encode("+OK\r\n"));
  assert.throws(() => conn.nextEvent(), RemoteProtocolError, "another reply, nothing waiting");
});

test("monitor machine: a monitor-shaped line before MONITOR was confirmed is not a line", () => {
  const conn = new RedisConnection({ protocol: 2, monitor: true });
  conn.send(["MONITOR"]);
  conn.pollTransmit();
  conn.receive(te.encode('+1.5 [0 127.0.0.1:1] "GET" "k"\r\n'));
  assert.throws(
    () => conn.nextEvent(),
    RemoteProtocolError,
    "MONITOR is answered OK, nothing else",
  );
});

/** The server's quoting of an argument (sdscatrepr), written here apart from the parser. */
function quote(bytes: Uint8Array): string {
  const named: Record<number, string> = { 10: "\\n", 13: "\\r", 9: "\\t", 7: "\\a", 8: "\\b" };
  let out = '"';
  for (const b of bytes) {
    if (b === 0x22 || b === 0x5c) out += `\\${String.fromCharCode(b)}`;
    else if (named[b]) out += named[b];
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += `\\x${b.toString(16).padStart(2, "0")}`;
  }
  return `${out}"`;
}

test("parseMonitorLine: any arguments, as the server quotes them, come back byte for byte", () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 20 }), { minLength: 1, maxLength: 6 }),
      (args) => {
        const line = `1700000000.000001 [15 10.0.0.1:6000] ${args.map(quote).join(" ")}`;
        assert.deepEqual(parseMonitorLine(line).args, args);
      },
    ),
  );
});

test("parseMonitorLine: any other text is an entry or a RemoteProtocolError, nothing else", () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 60 }), (tail) => {
      try {
        parseMonitorLine(`1.5 [0 lua] ${tail}`);
      } catch (error) {
        assert.ok(error instanceof RemoteProtocolError, String(error));
      }
    }),
  );
});
