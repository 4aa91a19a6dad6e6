// WatchHub with etcd auth on a private server: a stream reopened with a token the server no
// longer knows has its creates refused (code = Unauthenticated); the hub asks for a new token
// once and re-creates every watch from its next revision. A new token refused too, or no
// renewal hook, ends the watches with the refusal.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { startEtcd } from "../../scripts/servers.ts";
import { EtcdClient } from "../../src/etcd/client.ts";
import { EtcdError } from "../../src/etcd/errors.ts";
import { WatchHub } from "../../src/etcd/grpc/watch_hub.ts";
import { Keys, text } from "../../src/etcd/kv.ts";
import * as M from "../../src/etcd/proto/messages.ts";
import { etcdctl as runEtcdctl } from "../_helpers/etcdctl.ts";
import { GrpcTestChannel } from "../_helpers/grpc_bidi.ts";

const server = await startEtcd({ enableV2: false });
const endpoint = `${server.host}:${server.port}`;
const etcdctl = (...args: string[]): Promise<string> => runEtcdctl(endpoint, ...args);
await etcdctl("user", "add", "root:s3cret");
await etcdctl("auth", "enable");
const writer = new EtcdClient({
  endpoints: [endpoint],
  auth: { username: "root", password: "s3cret" },
});
const cleanup: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const f of cleanup.reverse()) await f();
  await writer.close();
  await server.stop();
});

/** Disabling auth drops every simple token: once enabled again, each token held is invalid. */
async function invalidateTokens(): Promise<void> {
  await etcdctl("--user=root:s3cret", "auth", "disable");
  await etcdctl("auth", "enable");
}

async function authenticate(grpc: GrpcTestChannel): Promise<string> {
  grpc.token = undefined;
  const answer = await grpc.call<M.AuthenticateResponseMsg>(
    M.Method.Authenticate,
    M.AuthenticateRequest,
    M.AuthenticateResponse,
    { name: "root", password: "s3cret" },
  );
  return answer.token;
}

function channel(): GrpcTestChannel {
  const grpc = new GrpcTestChannel(server);
  cleanup.push(() => grpc.close());
  return grpc;
}

test("hub auth: creates refused for a stale token renew it once; every watch resumes exactly", async () => {
  const grpc = channel();
  grpc.token = await authenticate(grpc);
  let renewals = 0;
  const hub = new WatchHub({
    open: grpc.open,
    keys: new Keys(),
    renewToken: async () => {
      renewals++;
      grpc.token = await authenticate(grpc);
      return true;
    },
  });
  cleanup.push(() => hub.close());
  const watches = Array.from({ length: 3 }, () => hub.watch({ key: "a/", prefix: true }));
  await Promise.all(watches.map((w) => w.created));
  const before = await writer.put("a/1", "before");
  await invalidateTokens();
  await grpc.destroy(); // the hub reopens with the token the server forgot
  const during = await writer.put("a/2", "during");
  for (const watch of watches) {
    const seen: string[] = [];
    for await (const event of watch) {
      seen.push(`${event.kv.modRevision}:${text(event.kv.value)}`);
      if (seen.length === 2) break;
    }
    assert.deepEqual(seen, [`${before.revision}:before`, `${during.revision}:during`]);
    assert.equal(watch.reconnects >= 1, true);
  }
  assert.equal(renewals, 1);
});

test("hub auth: a renewed token refused again ends every watch with the refusal", async () => {
  const grpc = channel();
  grpc.token = "not-a-token";
  let renewals = 0;
  const hub = new WatchHub({
    open: grpc.open,
    keys: new Keys(),
    renewToken: () => Promise.resolve(++renewals > 0), // "renewed", but the token stays bad
  });
  cleanup.push(() => hub.close());
  const watches = [hub.watch({ key: "b" }), hub.watch({ key: "c" })];
  for (const watch of watches) {
    const error = await watch.created.catch((e) => e);
    assert.ok(error instanceof EtcdError && error.grpcCode === 16, String(error));
    assert.match(error.message, /invalid auth token/);
  }
  assert.equal(renewals, 1);
  assert.equal(hub.size, 0);
});

test("hub auth: without a renewal hook the refused watch ends with the refusal", async () => {
  const grpc = channel();
  grpc.token = "not-a-token";
  const hub = new WatchHub({ open: grpc.open, keys: new Keys() });
  cleanup.push(() => hub.close());
  const watch = hub.watch({ key: "d" });
  const error = await watch.next().catch((e) => e);
  assert.ok(error instanceof EtcdError && error.grpcCode === 16, String(error));
  assert.equal(hub.size, 0);
});
