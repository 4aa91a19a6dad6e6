// A pool member that goes silent (requests time out instead of being refused) is marked dead
// per python-memcached's rules: its connection is closed, its keys fail over while deadRetry
// runs, and it is tried again on a new connection afterwards (hostile servers, meta protocol).
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { TimeoutError } from "../../src/core/errors.ts";
import { MemcacheClient } from "../../src/memcache/client.ts";
import { parseServers } from "../../src/memcache/client_options.ts";
import { ServerDeadError } from "../../src/memcache/errors.ts";
import { ServerPool } from "../../src/memcache/pool.ts";
import { type HostileServer, startHostileServer } from "../_helpers/hostile_server.ts";
import { metaProtocol, type Store } from "./_hostile.ts";

const servers: HostileServer[] = [];
after(() => Promise.all(servers.map((s) => s.close())));

/** Three servers; the middle one's first connection goes silent after the version probe. */
async function threeServers(): Promise<{ addresses: string[]; silent: HostileServer }> {
  const list = await Promise.all([0, 1, 2].map((n) =>
    startHostileServer(
      metaProtocol(new Map() as Store),
      (i) => (n === 1 && i === 0 ? { kind: "silent" } : { kind: "none" }),
    )
  ));
  servers.push(...list);
  return { addresses: list.map((s) => `${s.host}:${s.port}`), silent: list[1] };
}

/** A key the ring puts on server `index`. */
function keyOn(addresses: string[], index: number): string {
  const pool = new ServerPool(parseServers(addresses), { protocol: "meta" });
  const label = pool.nodes[index].spec.label;
  for (let i = 0;; i++) {
    const key = `silence:${i}`;
    if (pool.route(new TextEncoder().encode(key)).spec.label === label) return key;
  }
}

async function eventually(check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const giveUp = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > giveUp) throw new Error("Condition not reached in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test("memcache pool: a silent server is marked dead and closed; its keys fail over, then it comes back", async () => {
  const { addresses, silent } = await threeServers();
  const deadRetry = 600;
  const mc = await MemcacheClient.connect(addresses, {
    failover: true,
    deadRetry,
    commandTimeout: 200,
  });
  try {
    const key = keyOn(addresses, 1);
    await assert.rejects(
      mc.get(key),
      (e: unknown) => e instanceof TimeoutError && e.sent === true,
      "the request reached the silent server: it may have run",
    );
    assert.equal(mc.servers[1].dead, true, "timed out: marked dead");
    assert.equal(mc.servers[1].connected, false, "and its silent connection closed");
    const requests = silent.requests;
    // While dead, its keys go to a live server, without touching it.
    assert.equal(await mc.set(key, "moved"), true);
    assert.equal(await mc.get(key), "moved");
    assert.equal(silent.requests, requests, "no request went to the dead server");
    assert.equal(silent.accepted, 1, "nor a connection attempt");
    // After deadRetry, the next call for its key connects again (a healthy connection now).
    await eventually(async () => (await mc.get(key)) === null); // its own store lacks the key
    assert.equal(silent.accepted, 2, "one new connection");
    assert.equal(mc.servers[1].dead, false);
    assert.equal(await mc.set(key, "home"), true);
    assert.equal(await mc.get(key), "home");
  } finally {
    mc.destroy();
  }
});

test("memcache pool: without failover, a silent server's keys fail fast while it is dead", async () => {
  const { addresses, silent } = await threeServers();
  const mc = await MemcacheClient.connect(addresses, { deadRetry: 60_000, commandTimeout: 200 });
  try {
    const key = keyOn(addresses, 1);
    await assert.rejects(mc.get(key), TimeoutError);
    const start = performance.now();
    await assert.rejects(mc.get(key), ServerDeadError);
    assert.ok(performance.now() - start < 100, "failed at once, not after another timeout");
    assert.equal(silent.accepted, 1);
    assert.equal(await mc.set(keyOn(addresses, 0), "v"), true, "other servers are unaffected");
  } finally {
    mc.destroy();
  }
});
