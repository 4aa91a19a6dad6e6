// etcd auth on a private server, on both protocols: token on every request, wrong password,
// renewal once after expiry (--auth-token-ttl=1); watches, locks, campaigns and coalesced reads
// after every token was invalidated (auth disable + enable), and reads the user may not make.

import { after } from "node:test";
import assert from "node:assert/strict";
import { startEtcd } from "../../scripts/servers.ts";
import { EtcdClient } from "../../src/etcd/client.ts";
import { EtcdError } from "../../src/etcd/errors.ts";
import { text } from "../../src/etcd/kv.ts";
import type { WatchEvent, WatchStream } from "../../src/etcd/watch.ts";
import { startChaosProxy } from "../_helpers/chaos_proxy.ts";
import { eachProtocol as each, runningProtocol } from "../_helpers/etcd_protocols.ts";
import { requestLog } from "../_helpers/request_log.ts";
import { etcdctl as runEtcdctl } from "../_helpers/etcdctl.ts";

const server = await startEtcd({ enableV2: false, args: ["--auth-token-ttl=1"] });
const endpoint = `${server.host}:${server.port}`;
const clients: EtcdClient[] = [];
after(async () => {
  for (const c of clients) await c.close();
  await server.stop();
});

const etcdctl = (...args: string[]): Promise<string> => runEtcdctl(endpoint, ...args);

await etcdctl("user", "add", "root:s3cret");
await etcdctl("user", "add", "nobody:pw"); // no role: may read nothing
await etcdctl("role", "add", "reader");
await etcdctl("role", "grant-permission", "reader", "read", "pub/", "--prefix=true");
await etcdctl("user", "add", "reader:pw"); // may read pub/ and nothing else
await etcdctl("user", "grant-role", "reader", "reader");
await etcdctl("auth", "enable");
const root = { username: "root", password: "s3cret" };
const reader = { username: "reader", password: "pw" };

/** Disabling auth drops every simple token: once enabled again, each token held is invalid. */
async function invalidateTokens(): Promise<void> {
  await etcdctl("--user=root:s3cret", "auth", "disable");
  await etcdctl("auth", "enable");
}

/** The next event of `watcher`; fails the test if none comes within 10 s. */
async function nextEvent(watcher: WatchStream): Promise<WatchEvent> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("no watch event within 10 s")), 10_000);
  });
  try {
    const result = await Promise.race([watcher.next(), timeout]);
    assert.equal(result.done, false, "the watch ended");
    return result.value as WatchEvent;
  } finally {
    clearTimeout(timer);
  }
}

function client(auth?: { username: string; password: string }): EtcdClient {
  const c = new EtcdClient({
    protocol: runningProtocol(),
    endpoints: [endpoint],
    auth,
    requestTimeout: 5000,
  });
  clients.push(c);
  return c;
}

each("auth: a token is fetched once and sent with every request", async () => {
  const log = requestLog();
  const etcd = new EtcdClient({
    protocol: runningProtocol(),
    endpoints: [endpoint],
    auth: root,
    connect: log.connect,
  });
  clients.push(etcd);
  await etcd.put("a", "1");
  assert.equal(await etcd.getString("a"), "1");
  assert.equal(etcd.channel.authentications, 1);
  assert.deepEqual(log.take(), ["/v3/auth/authenticate", "/v3/kv/put", "/v3/kv/range"]);
  // The gateway's Authorization header, or gRPC's token metadata (decoded by the log).
  const tokens = log.written.join("").match(/\r\n(?:Authorization|token): \S+\r\n/g) ?? [];
  assert.equal(tokens.length, 2, "the put and the get carried the token");
  assert.equal(
    await etcdctl("--user=root:s3cret", "get", "--print-value-only", "a"),
    "1\n",
  );
});

each("auth: no credentials or a wrong password are refused, without the password", async () => {
  const anonymous = await client().get("a").catch((e) => e);
  assert.ok(anonymous instanceof EtcdError, String(anonymous));
  const wrong = await client({ username: "root", password: "nope" }).get("a").catch((e) => e);
  assert.ok(wrong instanceof EtcdError, String(wrong));
  assert.match(wrong.message, /authentication failed/);
  assert.doesNotMatch(wrong.message, /nope/);
});

each("auth: an expired token is renewed once and the call succeeds", async () => {
  const etcd = client({ username: "root", password: "s3cret" });
  await etcd.put("b", "1");
  assert.equal(etcd.channel.authentications, 1);
  // Simple tokens expire after --auth-token-ttl=1 s without use: let that happen.
  await new Promise((resolve) => setTimeout(resolve, 2500));
  assert.equal(await etcd.getString("b"), "1");
  assert.equal(etcd.channel.authentications, 2, "the client had to re-authenticate");
});

each("auth: watches carry the token", async () => {
  const etcd = client({ username: "root", password: "s3cret" });
  await using watcher = etcd.watch("w");
  await watcher.created;
  await etcd.put("w", "v");
  for await (const event of watcher) {
    assert.equal(text(event.kv.value), "v");
    break;
  }
});

each("auth: a watch opened with an invalidated token fetches a new one and delivers", async () => {
  const etcd = client(root);
  const writer = client(root);
  await etcd.put("w1", "0");
  assert.equal(etcd.channel.authentications, 1);
  await invalidateTokens();
  await using watcher = etcd.watch("w1");
  await watcher.created;
  assert.equal(etcd.channel.authentications, 2, "the watch re-authenticated");
  const put = await writer.put("w1", "1");
  const event = await nextEvent(watcher);
  assert.equal(event.kv.modRevision, put.revision);
  assert.equal(text(event.kv.value), "1");
});

each("auth: a watch resumed after its token was invalidated re-authenticates", async () => {
  const proxy = await startChaosProxy({ host: server.host, port: server.port });
  const etcd = new EtcdClient({
    protocol: runningProtocol(),
    endpoints: [`${proxy.host}:${proxy.port}`],
    auth: root,
  });
  const writer = client(root);
  try {
    await using watcher = etcd.watch("w2");
    const created = await watcher.created;
    assert.equal(etcd.channel.authentications, 1);
    await invalidateTokens();
    proxy.resetAll(); // the watch must come back with a token the server no longer knows
    const put = await writer.put("w2", "after");
    const event = await nextEvent(watcher);
    assert.equal(event.kv.modRevision, put.revision);
    assert.ok(put.revision > created);
    assert.ok(watcher.reconnects >= 1, `reconnects: ${watcher.reconnects}`);
    assert.equal(etcd.channel.authentications, 2, "the resumed watch re-authenticated");
  } finally {
    await etcd.close();
    await proxy.stop();
  }
});

each(
  "auth: lock and campaign with an invalidated token re-authenticate once and succeed",
  async () => {
    const etcd = client(root);
    // Leases granted up front (no keep-alive loop), so that the blocking calls themselves are
    // the first to present the invalidated token.
    const lockLease = await etcd.grant(30, { keepAlive: false });
    const campaignLease = await etcd.grant(30, { keepAlive: false });
    assert.equal(etcd.channel.authentications, 1);
    await invalidateTokens();
    const lock = await etcd.lock("auth-lock", { lease: lockLease });
    assert.ok(text(lock.key).startsWith("auth-lock/"), text(lock.key));
    assert.equal(etcd.channel.authentications, 2, "the lock call re-authenticated");
    await invalidateTokens();
    const election = etcd.election("auth-election");
    const term = await election.campaign("me", { lease: campaignLease });
    assert.equal(etcd.channel.authentications, 3, "the campaign re-authenticated");
    assert.equal(await election.leaderValue(), "me");
    await term.resign();
    await lock.release();
    await lockLease.revoke();
    await campaignLease.revoke();
  },
);

each("auth: a lock refused for lack of permission fails without re-authenticating", async () => {
  const etcd = client(root);
  const lease = await etcd.grant(30, { keepAlive: false });
  const nobody = client({ username: "nobody", password: "pw" });
  const error = await nobody.lock("auth-lock-denied", { lease }).catch((e) => e);
  assert.ok(error instanceof EtcdError, String(error));
  assert.match(error.message, /permission denied/);
  assert.equal(nobody.channel.authentications, 1);
  await lease.revoke();
});

each("auth: in a batch of reads, the one the user may not make fails alone", async () => {
  const writer = client(root);
  await writer.put("pub/a", "1");
  await writer.put("pub/b", "2");
  await writer.put("secret/x", "s");
  const log = requestLog();
  const etcd = new EtcdClient({
    protocol: runningProtocol(),
    endpoints: [endpoint],
    auth: reader,
    connect: log.connect,
  });
  clients.push(etcd);
  assert.equal(await etcd.getString("pub/a"), "1"); // authenticated
  log.take();
  const settled = await Promise.allSettled([
    etcd.getString("pub/a"),
    etcd.getString("secret/x"),
    etcd.getPrefix("pub/"),
  ]);
  assert.deepEqual(settled[0], { status: "fulfilled", value: "1" });
  assert.equal(settled[1].status, "rejected");
  const error = (settled[1] as PromiseRejectedResult).reason;
  assert.ok(error instanceof EtcdError, String(error));
  assert.match(error.message, /permission denied/);
  assert.equal(settled[2].status, "fulfilled");
  const kvs = (settled[2] as PromiseFulfilledResult<{ value: Uint8Array }[]>).value;
  assert.deepEqual(kvs.map((kv) => text(kv.value)), ["1", "2"]);
  assert.deepEqual(log.take(), ["/v3/kv/range", "/v3/kv/range", "/v3/kv/range", "/v3/kv/txn"]);
  assert.equal(etcd.channel.authentications, 1, "a permission error is not a token to renew");
});

each("auth: a batch of reads sent with an invalidated token re-authenticates once", async () => {
  const log = requestLog();
  const etcd = new EtcdClient({
    protocol: runningProtocol(),
    endpoints: [endpoint],
    auth: root,
    connect: log.connect,
  });
  clients.push(etcd);
  await etcd.put("batch/a", "1");
  await etcd.put("batch/b", "2");
  await invalidateTokens();
  log.take();
  const values = await Promise.all(["a", "b", "a", "c"].map((k) => etcd.getString(`batch/${k}`)));
  assert.deepEqual(values, ["1", "2", "1", undefined]);
  assert.equal(etcd.channel.authentications, 2);
  assert.deepEqual(log.take(), ["/v3/auth/authenticate", "/v3/kv/txn", "/v3/kv/txn"]);
});

each("auth: a watch refused for lack of permission fails without re-authenticating", async () => {
  const etcd = client({ username: "nobody", password: "pw" });
  const watcher = etcd.watch("w3");
  const error = await watcher.created.catch((e) => e);
  assert.ok(error instanceof EtcdError, String(error));
  assert.match(error.message, /permission denied/);
  assert.equal(etcd.channel.authentications, 1);
  assert.deepEqual(await watcher.next().catch((e) => e), error);
});
