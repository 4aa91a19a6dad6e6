// Redis Sentinel against fake sentinels (the hostile-server kit): +switch-master followed, a
// lost subscription made good, SENTINEL SLAVES fallback and replica health, no sentinel at all.
import { test } from "node:test";
import assert from "node:assert/strict";
import { TimeoutError } from "../../src/core/errors.ts";
import { RedisClient } from "../../src/redis/client.ts";
import type { LocatedConnection } from "../../src/redis/client_options.ts";
import { Sentinel } from "../../src/redis/sentinel.ts";
import { SentinelList } from "../../src/redis/sentinel_discovery.ts";
import { SentinelLocator } from "../../src/redis/sentinel_locator.ts";
import { freePorts } from "../../scripts/servers.ts";
import { collectUnhandledRejections, startHostileServer } from "../_helpers/hostile_server.ts";
import { redisHostileProtocol } from "./_hostile.ts";
import { within } from "./_sentinel.ts";

const NAME = "mymaster";
const encoder = new TextEncoder();

/** The bytes of a subscription confirmation, then of the messages, on `+switch-master`. */
function switchFrames(push: ">" | "*", ...messages: string[]): Uint8Array {
  let text = `${push}3\r\n$9\r\nsubscribe\r\n$14\r\n+switch-master\r\n:1\r\n`;
  for (const m of messages) {
    text += `${push}3\r\n$7\r\nmessage\r\n$14\r\n+switch-master\r\n$${m.length}\r\n${m}\r\n`;
  }
  return encoder.encode(text);
}

/**
 * Stand-in data connections attached to locators: `destroy` records which was dropped and
 * why; `dropped(n)` resolves once `n` were. `detachAll()` ends the subscriptions.
 */
function standIns(): {
  attach(locator: SentinelLocator, label: string, port: number): void;
  dropped(count: number): Promise<string[]>;
  detachAll(): void;
} {
  const kicked: string[] = [];
  let waiter: { count: number; resolve: (kicked: string[]) => void } | undefined;
  const attached: [SentinelLocator, LocatedConnection][] = [];
  return {
    attach(locator, label, port) {
      const destroy = (error: Error): void => {
        kicked.push(`${label}@${port}: ${error.message}`);
        if (waiter && kicked.length >= waiter.count) waiter.resolve(kicked.sort());
      };
      const conn = { isClosed: false, driver: { destroy } } as unknown as LocatedConnection;
      attached.push([locator, conn]);
      locator.attach(conn, () => ({ host: "127.0.0.1", port }));
    },
    dropped(count) {
      const done = new Promise<string[]>((resolve) => (waiter = { count, resolve }));
      return within(done, 5000, `${count} connections to be dropped`);
    },
    detachAll() {
      for (const [locator, conn] of attached) locator.detach(conn);
    },
  };
}

test("+switch-master drops the connections left on a node that lost the asked role", async () => {
  const base = redisHostileProtocol();
  const server = await startHostileServer<string[]>({
    ...base,
    respond: (request, session) => {
      if (request[0] !== "SUBSCRIBE") return base.respond(request, session);
      const push = session.state.get("resp3") === true ? ">" : "*";
      return { bytes: switchFrames(push, "mymaster 127.0.0.1 1111 127.0.0.1 2222") };
    },
  });
  const list = new SentinelList([`127.0.0.1:${server.port}`]);
  const master = new SentinelLocator(list, NAME, "master");
  const replica = new SentinelLocator(list, NAME, "replica");
  const conns = standIns();
  try {
    conns.attach(master, "master", 2222); // already on the new master: stays
    conns.attach(replica, "replica", 3333); // on another replica: stays
    conns.attach(master, "master", 1111); // on the old master: dropped
    conns.attach(replica, "replica", 2222); // on the promoted replica: dropped
    assert.deepEqual(await conns.dropped(2), [
      'master@1111: The sentinels switched the master of "mymaster" to 127.0.0.1:2222',
      'replica@2222: The sentinels switched the master of "mymaster" to 127.0.0.1:2222',
    ]);
  } finally {
    conns.detachAll();
    await server.close();
  }
});

test("after the sentinel subscription was lost, the master is asked for again", async () => {
  const base = redisHostileProtocol();
  const server = await startHostileServer<string[]>({
    ...base,
    respond: (request, session) => {
      if (request[0] === "SUBSCRIBE") return { bytes: switchFrames(">") };
      if (request[1] === "GET-MASTER-ADDR-BY-NAME") {
        return { bytes: encoder.encode("*2\r\n$9\r\n127.0.0.1\r\n$4\r\n2222\r\n") };
      }
      if (request[0] === "SENTINEL") return { bytes: encoder.encode("*0\r\n") };
      return base.respond(request, session);
    },
  }, (i) =>
    i === 0 ? { kind: "replace", at: 0, bytes: switchFrames(">"), then: "close" } : {
      kind: "none",
    });
  const locator = new SentinelLocator(new SentinelList([`127.0.0.1:${server.port}`]), NAME);
  const conns = standIns();
  try {
    conns.attach(locator, "master", 2222);
    conns.attach(locator, "master", 1111); // a switch to 2222 went by while unsubscribed
    assert.deepEqual(await conns.dropped(1), [
      'master@1111: The sentinels switched the master of "mymaster" to 127.0.0.1:2222',
    ]);
    assert.ok(server.accepted >= 3, "subscribed, resubscribed, asked");
  } finally {
    conns.detachAll();
    await server.close();
  }
});

test("replicas: SENTINEL SLAVES on old servers, unhealthy ones skipped, master when none", async () => {
  const base = redisHostileProtocol();
  const entry = (port: number, flags: string): string =>
    [["ip", "127.0.0.1"], ["port", String(port)], ["flags", flags]].reduce(
      (out, [k, v]) => out + `$${k.length}\r\n${k}\r\n$${v.length}\r\n${v}\r\n`,
      "*6\r\n",
    );
  let healthy = true;
  const server = await startHostileServer<string[]>({
    ...base,
    respond: (request, session) => {
      const reply = (text: string) => ({ bytes: encoder.encode(text) });
      if (request[0] !== "SENTINEL") return base.respond(request, session);
      switch (request[1]) {
        case "GET-MASTER-ADDR-BY-NAME":
          return reply("*2\r\n$9\r\n127.0.0.1\r\n$4\r\n2222\r\n");
        case "REPLICAS":
          return reply("-ERR Unknown sentinel subcommand 'REPLICAS'\r\n");
        case "SLAVES":
          return reply(
            `*3\r\n${entry(3001, "slave,s_down")}${entry(3002, "slave,disconnected")}` +
              entry(3003, healthy ? "slave" : "slave,o_down"),
          );
        default:
          return reply("*0\r\n");
      }
    },
  });
  try {
    const sentinel = new Sentinel([`127.0.0.1:${server.port}`]);
    assert.deepEqual(await sentinel.discoverReplicas(NAME), [{ host: "127.0.0.1", port: 3003 }]);
    const locator = new SentinelLocator(
      new SentinelList([`127.0.0.1:${server.port}`]),
      NAME,
      "replica",
    );
    assert.deepEqual(await locator.locate(), { host: "127.0.0.1", port: 3003 });
    healthy = false;
    assert.deepEqual(await locator.locate(), { host: "127.0.0.1", port: 2222 });
  } finally {
    await server.close();
  }
});

test("while no sentinel answers, calls wait in the offline queue until their deadline", async () => {
  const [deadPort] = await freePorts(1);
  const leaked = await collectUnhandledRejections(async () => {
    const redis = new RedisClient({ sentinels: [`127.0.0.1:${deadPort}`], masterName: NAME });
    const started = Date.now();
    const error = await redis.with({ timeout: 300 }).get("k").catch((e: unknown) => e);
    const waited = Date.now() - started;
    redis.destroy();
    assert.ok(error instanceof TimeoutError, `a TimeoutError, got ${error}`);
    assert.equal(error.sent, false);
    assert.match(error.message, /No sentinel gave the address of a master named "mymaster"/);
    assert.ok(waited >= 290 && waited < 1500, `waited ${waited} ms`);
  });
  assert.deepEqual(leaked, []);
});
