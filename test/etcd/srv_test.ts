// DNS SRV discovery (`srvDomain`) against a real DNS server (test/_helpers/dns_server.ts) whose
// records point at the harness's etcd: RFC 2782 order, failover past a closed port, etcd's SSL
// name queried first, NXDOMAIN as SrvLookupError, a new lookup after every target failed, and
// v2 and v3 end to end; the Workers resolver's error.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { ConnectError, TimeoutError } from "../../src/core/errors.ts";
import { defaultConnect } from "../../src/core/default_connect.ts";
import { orderSrv, SrvLookupError, type SrvRecord } from "../../src/core/srv.ts";
import type { Address, Connect } from "../../src/core/transport.ts";
import { EtcdClient } from "../../src/etcd/client.ts";
import { EtcdV2Client } from "../../src/etcd/v2.ts";
import { srvResolver } from "../../transports/auto.ts";
import { srvResolver as workerdResolver } from "../../transports/auto_workerd.ts";
import { startDnsServer } from "../_helpers/dns_server.ts";
import { etcdAddress } from "../_helpers/servers.ts";
import { closedPort } from "../transports/_helpers/servers.ts";

const etcd = await etcdAddress();
const dead = await closedPort();
const target = (port: number, priority: number, weight = 0) => ({
  priority,
  weight,
  port,
  target: etcd.host,
});
const dns = await startDnsServer({
  // etcd's v3 name: a closed port first, then etcd, then another closed port.
  "_etcd-client._tcp.kvwire.test": [target(dead, 20), target(dead, 0, 5), target(etcd.port, 10)],
  // aio_etcd's v2 name.
  "_etcd._tcp.kvwire.test": [target(etcd.port, 1), target(dead, 0)],
});
after(() => dns.close());
const resolveSrv = srvResolver({ nameServer: { host: "127.0.0.1", port: dns.port } });

/** A connector that notes every address it is asked for. */
function recording(): { connect: Connect; tried: string[] } {
  const tried: string[] = [];
  const connect: Connect = (address, options) => {
    tried.push(`${(address as { port: number }).port}`);
    return defaultConnect(address as Address, options);
  };
  return { connect, tried };
}

test("srv: RFC 2782 order: priority ascending, weighted draw within a priority", () => {
  const r = (name: string, priority: number, weight: number): SrvRecord => ({
    name,
    port: 1,
    priority,
    weight,
  });
  const records = [r("z", 9, 0), r("c", 0, 30), r("a", 0, 0), r("b", 0, 10)];
  // Weight 0 records are listed first, the others as given (a, c, b): draws of 0 take the first.
  assert.deepEqual(orderSrv(records, () => 0).map((x) => x.name), ["a", "c", "b", "z"]);
  // The top draw (40 of 0..40) takes the last running sum: b, then c (29 of 0..30), then a.
  assert.deepEqual(orderSrv(records, () => 0.999).map((x) => x.name), ["b", "c", "a", "z"]);
  // A draw of 11 lands on c (running sum 30); then 10 of 0..10 is b's.
  const draws = [11 / 41, 0.999, 0];
  assert.deepEqual(orderSrv(records, () => draws.shift()!).map((x) => x.name), [
    "c",
    "b",
    "a",
    "z",
  ]);
  assert.deepEqual(orderSrv([]), []);
});

test("srv: the runtime's resolver reads the records; a missing name is []", async () => {
  const records = await resolveSrv("_etcd._tcp.kvwire.test");
  assert.deepEqual(
    records.sort((a, b) => a.priority - b.priority),
    [
      { name: etcd.host, port: dead, priority: 0, weight: 0 },
      { name: etcd.host, port: etcd.port, priority: 1, weight: 0 },
    ],
  );
  assert.deepEqual(await resolveSrv("_etcd._tcp.nowhere.test"), []);
});

test("srv: v3 client fails over past the closed target and puts and gets", async () => {
  const { connect, tried } = recording();
  const asked = dns.questions.length;
  await using client = new EtcdClient({ srvDomain: "kvwire.test", resolveSrv, connect });
  const key = `kvwire-srv/${crypto.randomUUID()}`;
  await client.put(key, "v3");
  assert.equal(await client.getString(key), "v3");
  // etcd's order: the SSL name first, then the plaintext one.
  assert.deepEqual(dns.questions.slice(asked), [
    "_etcd-client-ssl._tcp.kvwire.test",
    "_etcd-client._tcp.kvwire.test",
  ]);
  assert.deepEqual(tried.slice(0, 2), [`${dead}`, `${etcd.port}`]);
  assert.deepEqual(client.stats().members.map((m) => m.address), ["kvwire.test:0"]);
});

test("srv: v2 client (aio_etcd's srv_domain) writes and reads through _etcd._tcp", async () => {
  const { connect, tried } = recording();
  const asked = dns.questions.length;
  await using client = new EtcdV2Client({
    srvDomain: "kvwire.test",
    protocol: "http",
    resolveSrv,
    connect,
  });
  const key = `/kvwire-srv/${crypto.randomUUID()}`;
  await client.write(key, "v2");
  assert.equal((await client.read(key)).value, "v2");
  assert.deepEqual(dns.questions.slice(asked), ["_etcd._tcp.kvwire.test"]);
  assert.deepEqual(tried.slice(0, 2), [`${dead}`, `${etcd.port}`]);
});

test("srv: NXDOMAIN is an SrvLookupError naming the names queried, sent: false", async () => {
  await using client = new EtcdClient({ srvDomain: "nowhere.test", resolveSrv });
  const error = await client.getString("k").then(() => undefined, (e) => e);
  assert.ok(error instanceof SrvLookupError, String(error));
  assert.equal(error.code, "CONNECT_FAILED");
  assert.equal(error.sent, false);
  assert.deepEqual(error.names, [
    "_etcd-client-ssl._tcp.nowhere.test",
    "_etcd-client._tcp.nowhere.test",
  ]);
  assert.match(error.message, /_etcd-client-ssl\._tcp\.nowhere\.test or _etcd-client\._tcp/);
  await using v2 = new EtcdV2Client({ srvDomain: "nowhere.test", resolveSrv });
  const e2 = await v2.read("/k").then(() => undefined, (e) => e);
  assert.ok(e2 instanceof SrvLookupError, String(e2));
  assert.deepEqual(e2.names, ["_etcd._tcp.nowhere.test"]);
});

test("srv: after every target failed, the next connection looks the name up again", async () => {
  dns.zone.set("_etcd-client._tcp.later.test", [target(dead, 0), target(dead, 1)]);
  await using client = new EtcdClient({
    srvDomain: "later.test",
    tls: false,
    resolveSrv,
    requestTimeout: 10_000,
  });
  const first = await client.getString("k").then(() => undefined, (e) => e);
  assert.ok(first instanceof ConnectError, String(first));
  assert.equal(first.sent, false);
  assert.match(
    first.message,
    new RegExp(`Every SRV target tried failed \\(.*:${dead}, .*:${dead}\\)`),
  );
  const asked = dns.questions.filter((q) => q.endsWith("later.test")).length;
  dns.zone.set("_etcd-client._tcp.later.test", [target(etcd.port, 0)]);
  const key = `kvwire-srv/${crypto.randomUUID()}`;
  await client.put(key, "moved");
  assert.equal(await client.getString(key), "moved");
  assert.ok(dns.questions.filter((q) => q.endsWith("later.test")).length > asked);
});

test("srv: a lookup that never answers: each attempt ends at connectTimeout, the call at its deadline", async () => {
  const hanging = () => new Promise<SrvRecord[]>(() => {});
  await using client = new EtcdClient({
    srvDomain: "silent.test",
    resolveSrv: hanging,
    connectTimeout: 100,
    requestTimeout: 500,
  });
  const error = await client.getString("k").then(() => undefined, (e) => e);
  assert.ok(error instanceof TimeoutError, String(error));
  assert.equal(error.sent, false);
  assert.match(error.message, /_etcd-client-ssl\._tcp\.silent\.test or _etcd-client\._tcp\.silent/);
});

test("srv: bad options are TypeErrors before anything is looked up", () => {
  assert.throws(
    () => new EtcdClient({ srvDomain: "kvwire.test", endpoints: ["127.0.0.1:2379"] }),
    /endpoints or srvDomain, not both/,
  );
  assert.throws(() => new EtcdClient({ srvDomain: "https://kvwire.test" }), TypeError);
  assert.throws(() => new EtcdV2Client({ srvDomain: "a b" }), TypeError);
  assert.throws(
    () => new EtcdV2Client({ protocol: "http", tls: true }),
    /protocol "http" contradicts the tls option/,
  );
  assert.throws(
    () => new EtcdV2Client({ protocol: "ftp" as "http" }),
    /expected "http" or "https"/,
  );
  assert.throws(
    () => new EtcdV2Client({ protocol: "http", endpoints: ["https://127.0.0.1:2379"] }),
    TypeError,
  );
  assert.equal(JSON.parse(JSON.stringify(new EtcdV2Client({ protocol: "https" }))).tls, true);
});

test("srv: Workers have no resolver: a TypeError says to pass endpoints or resolveSrv", async () => {
  await assert.rejects(
    workerdResolver()("_etcd-client._tcp.example.com"),
    (e: Error) =>
      e instanceof TypeError && /_etcd-client\._tcp\.example\.com/.test(e.message) &&
      /endpoints, or a resolveSrv/.test(e.message),
  );
});
