// etcd auth on a private server: user/password → token on every request, wrong password,
// re-authentication once after the token expired (--auth-token-ttl=1), watch with a token.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { startEtcd } from "../../scripts/servers.ts";
import { EtcdClient } from "../../src/etcd/client.ts";
import { EtcdError } from "../../src/etcd/errors.ts";
import { text } from "../../src/etcd/kv.ts";

const server = await startEtcd({ enableV2: false, args: ["--auth-token-ttl=1"] });
const endpoint = `${server.host}:${server.port}`;
const clients: EtcdClient[] = [];
after(async () => {
  for (const c of clients) await c.close();
  await server.stop();
});

function etcdctl(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      "etcdctl",
      [`--endpoints=http://${endpoint}`, ...args],
      {
        env: { ETCDCTL_API: "3", PATH: "/usr/bin:/bin:/usr/local/bin" },
      },
      (
        error,
        stdout,
        stderr,
      ) => (error ? reject(new Error(stderr || error.message)) : resolve(stdout)),
    );
  });
}

await etcdctl("user", "add", "root:s3cret");
await etcdctl("auth", "enable");

function client(auth?: { username: string; password: string }): EtcdClient {
  const c = new EtcdClient({ endpoints: [endpoint], auth, requestTimeout: 5000 });
  clients.push(c);
  return c;
}

test("auth: a token is fetched once and sent with every request", async () => {
  const etcd = client({ username: "root", password: "s3cret" });
  await etcd.put("a", "1");
  assert.equal(await etcd.getString("a"), "1");
  assert.equal(etcd.channel.authentications, 1);
  assert.equal(
    await etcdctl("--user=root:s3cret", "get", "--print-value-only", "a"),
    "1\n",
  );
});

test("auth: no credentials or a wrong password are refused, without the password", async () => {
  const anonymous = await client().get("a").catch((e) => e);
  assert.ok(anonymous instanceof EtcdError, String(anonymous));
  const wrong = await client({ username: "root", password: "nope" }).get("a").catch((e) => e);
  assert.ok(wrong instanceof EtcdError, String(wrong));
  assert.match(wrong.message, /authentication failed/);
  assert.doesNotMatch(wrong.message, /nope/);
});

test("auth: an expired token is renewed once and the call succeeds", async () => {
  const etcd = client({ username: "root", password: "s3cret" });
  await etcd.put("b", "1");
  assert.equal(etcd.channel.authentications, 1);
  // Simple tokens expire after --auth-token-ttl=1 s without use: let that happen.
  await new Promise((resolve) => setTimeout(resolve, 2500));
  assert.equal(await etcd.getString("b"), "1");
  assert.equal(etcd.channel.authentications, 2, "the client had to re-authenticate");
});

test("auth: watches carry the token", async () => {
  const etcd = client({ username: "root", password: "s3cret" });
  await using watcher = etcd.watch("w");
  await watcher.created;
  await etcd.put("w", "v");
  for await (const event of watcher) {
    assert.equal(text(event.kv.value), "v");
    break;
  }
});
