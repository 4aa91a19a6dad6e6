// Rough edges of the gateway clients (issue #16): a server without the v2 API, error statuses
// with a body that is not JSON, values that are not bytes, refused connections, and a burst of
// calls after every token was invalidated.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { startEtcd } from "../../scripts/servers.ts";
import { KvError, RemoteProtocolError } from "../../src/core/errors.ts";
import { EtcdClient } from "../../src/etcd/client.ts";
import { EtcdError, EtcdV2DisabledError, EtcdV2Error } from "../../src/etcd/errors.ts";
import { EtcdV2Client } from "../../src/etcd/v2.ts";
import { requestLog } from "../_helpers/request_log.ts";
import { etcdctl } from "../_helpers/etcdctl.ts";

const noV2 = await startEtcd({ enableV2: false });
const endpoint = `${noV2.host}:${noV2.port}`;
after(() => noV2.stop());

/** A server answering every request with `status` and a plain-text body, then closing. */
async function plainServer(
  status: string,
  body: string,
): Promise<{ port: number; server: Server }> {
  const server = createServer((socket) => {
    socket.once("data", () => {
      socket.end(
        `HTTP/1.1 ${status}\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n` +
          `Connection: close\r\n\r\n${body}`,
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as { port: number }).port, server };
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const { port, server } = await plainServer("200 OK", "");
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test("v2 on a server without the v2 API: EtcdV2DisabledError naming --enable-v2", async () => {
  await using v2 = new EtcdV2Client({ endpoints: [endpoint] });
  for (const call of [() => v2.read("/a"), () => v2.write("/a", "1"), () => v2.leader()]) {
    await assert.rejects(call(), (error: Error) => {
      assert.ok(error instanceof EtcdV2DisabledError, `${error.name}: ${error.message}`);
      assert.match(error.message, /v2 API is not enabled.*--enable-v2/);
      return true;
    });
  }
  await assert.rejects(v2.machines(), EtcdV2DisabledError, "no '404 page not found' member");
});

test("an error status with a non-JSON body is a server error naming the status (v3, v2)", async () => {
  const { port, server } = await plainServer("502 Bad Gateway", "upstream is down");
  try {
    await using v3 = new EtcdClient({ protocol: "gateway", endpoints: [`127.0.0.1:${port}`] });
    await assert.rejects(v3.get("k"), (error: Error) => {
      assert.ok(error instanceof EtcdError, `${error.name}: ${error.message}`);
      assert.ok(!(error instanceof RemoteProtocolError));
      assert.equal(error.httpStatus, 502);
      assert.match(error.message, /HTTP 502: upstream is down/);
      return true;
    });
    await using v2 = new EtcdV2Client({ endpoints: [`127.0.0.1:${port}`] });
    await assert.rejects(v2.read("/a"), (error: Error) => {
      assert.ok(error instanceof EtcdV2Error, `${error.name}: ${error.message}`);
      assert.equal(error.errorCode, 502);
      assert.match(error.message, /HTTP 502: upstream is down/);
      return true;
    });
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

test("put() with a value that is not a string or bytes is a TypeError before sending", async () => {
  const log = requestLog();
  await using etcd = new EtcdClient({
    protocol: "gateway",
    endpoints: [endpoint],
    connect: log.connect,
  });
  const put = etcd.put as (key: unknown, value: unknown) => Promise<unknown>;
  await assert.rejects(put.call(etcd, "fixes/n", 42), {
    name: "TypeError",
    message: "value must be a string or a Uint8Array, got the number 42",
  });
  await assert.rejects(put.call(etcd, 7, "v"), { name: "TypeError", message: /^key must be/ });
  assert.deepEqual(log.paths, [], "nothing was sent");
  assert.equal(await etcd.getString("fixes/n"), undefined);
});

test("a refused connection fails fast, and moves on to the next endpoint", async () => {
  const dead = await closedPort();
  await using alone = new EtcdClient({ protocol: "gateway", endpoints: [`127.0.0.1:${dead}`] }); // 30 s deadline
  const started = Date.now();
  await assert.rejects(alone.get("k"), (error: Error) => {
    assert.ok(error instanceof KvError && error.code === "CONNECT_FAILED", error.message);
    assert.equal(error.sent, false);
    return true;
  });
  assert.ok(Date.now() - started < 2000, `failed after ${Date.now() - started} ms`);
  await using both = new EtcdClient({
    protocol: "gateway",
    endpoints: [`127.0.0.1:${dead}`, endpoint],
  });
  await both.put("fixes/moved", "yes");
  assert.equal(await both.getString("fixes/moved"), "yes");
});

test("a burst of calls after every token was invalidated fetches one new token", async () => {
  const server = await startEtcd({ enableV2: false });
  const at = `${server.host}:${server.port}`;
  try {
    await etcdctl(at, "user", "add", "root:burst-pw");
    await etcdctl(at, "auth", "enable");
    await using etcd = new EtcdClient({
      protocol: "gateway",
      endpoints: [at],
      auth: { username: "root", password: "burst-pw" },
    });
    await Promise.all(Array.from({ length: 8 }, (_, i) => etcd.put(`burst/${i}`, "a")));
    assert.equal(etcd.channel.authentications, 1);
    for (let round = 1; round <= 3; round++) {
      await etcdctl(at, "--user=root:burst-pw", "auth", "disable"); // drops every simple token
      await etcdctl(at, "auth", "enable");
      await Promise.all(Array.from({ length: 40 }, (_, i) => etcd.put(`burst/${i}`, `${round}`)));
      assert.equal(etcd.channel.authentications, 1 + round, `round ${round}`);
    }
  } finally {
    await server.stop();
  }
});
