// etcd.auth against a real etcd 3.4 on both protocols, cross-checked with etcdctl: users and roles
// added, listed, granted, revoked and deleted, a password changed, auth enabled and disabled; the
// passwords never show in errors, operations or inspect output.

import { after } from "node:test";
import assert from "node:assert/strict";
import { inspect } from "node:util";
import { startEtcd } from "../../scripts/servers.ts";
import { EtcdClient } from "../../src/etcd/client.ts";
import { EtcdError } from "../../src/etcd/errors.ts";
import { text } from "../../src/etcd/kv.ts";
import { etcdctl as runEtcdctl } from "../_helpers/etcdctl.ts";
import { type EtcdProtocol, perProtocol } from "../_helpers/etcd_protocols.ts";

const server = await startEtcd({ enableV2: false });
const endpoint = `${server.host}:${server.port}`;
const ROOT_PW = "root-pw-3f9a";
const APP_PW = "app-pw-77c1";
const NEW_PW = "app-pw-new-e02b";
const operations: unknown[] = [];
const logged: unknown[] = [];
const observe = {
  instrumentation: { onEnd: (op: unknown) => void operations.push(op) },
  logger: Object.fromEntries(
    ["debug", "info", "warn", "error"].map((level) => [level, (...a: unknown[]) => logged.push(a)]),
  ),
};
// Each test runs once per protocol and leaves no user or role behind.
let etcd: EtcdClient;
let protocol: EtcdProtocol;
const runs = perProtocol(endpoint, "", (run) => ({ etcd, protocol } = run), observe);
after(async () => {
  await runs.close();
  await server.stop();
});

const etcdctl = (...args: string[]): Promise<string> => runEtcdctl(endpoint, ...args);

const lines = (out: string): string[] => out.trim().split("\n").filter((l) => l !== "");

runs.each("auth admin: users and roles, cross-checked with etcdctl", async () => {
  await etcd.auth.userAdd("app", APP_PW);
  await etcd.auth.roleAdd("reader");
  await etcd.auth.roleGrantPermission("reader", "READ", { key: "pub/", prefix: true });
  await etcd.auth.roleGrantPermission("reader", "READWRITE", { key: "one" });
  await etcd.auth.userGrantRole("app", "reader");
  assert.deepEqual(await etcd.auth.userList(), ["app"]);
  assert.deepEqual(lines(await etcdctl("user", "list")), ["app"]);
  assert.deepEqual(await etcd.auth.roleList(), ["reader"]);
  assert.deepEqual(lines(await etcdctl("role", "list")), ["reader"]);
  assert.deepEqual(await etcd.auth.userGet("app"), { roles: ["reader"] });
  assert.match(await etcdctl("user", "get", "app"), /Roles: reader/);
  const perms = await etcd.auth.roleGet("reader");
  assert.deepEqual(
    perms.map((p) => [p.type, text(p.key), p.rangeEnd && text(p.rangeEnd)]),
    [["READWRITE", "one", undefined], ["READ", "pub/", "pub0"]],
  );
  const ctlRole = await etcdctl("role", "get", "reader");
  assert.equal(
    ctlRole,
    "Role reader\nKV Read:\n\tone\n\t[pub/, pub0) (prefix pub/)\nKV Write:\n\tone\n",
  );

  await etcd.auth.roleRevokePermission("reader", { key: "one" });
  assert.deepEqual((await etcd.auth.roleGet("reader")).map((p) => p.type), ["READ"]);
  await etcd.auth.userRevokeRole("app", "reader");
  assert.deepEqual(await etcd.auth.userGet("app"), { roles: [] });
  await etcd.auth.roleDelete("reader");
  await etcd.auth.userAdd("cn-only", undefined, { noPassword: true }); // TLS common name users
  assert.deepEqual(await etcd.auth.userList(), ["app", "cn-only"]);
  await etcd.auth.userDelete("cn-only");
  await assert.rejects(etcd.auth.userAdd("nopw", undefined), TypeError);
  assert.deepEqual(lines(await etcdctl("role", "list")), []);
  await assert.rejects(etcd.auth.roleGet("reader"), /role name not found/);
  await etcd.auth.userDelete("app");
});

runs.each("auth admin: enable, a changed password, disable; passwords never shown", async () => {
  operations.length = logged.length = 0; // this run's only
  await etcd.auth.userAdd("app", APP_PW);
  await etcd.auth.userAdd("root", ROOT_PW);
  await etcd.auth.userGrantRole("root", "root");
  await etcd.auth.enable();
  await assert.rejects(etcd.auth.userList(), EtcdError, "auth is on: anonymous calls refused");
  await using root = new EtcdClient({
    protocol,
    endpoints: [endpoint],
    auth: { username: "root", password: ROOT_PW },
    ...observe,
  });
  assert.deepEqual((await root.auth.userList()).sort(), ["app", "root"]);
  await root.auth.userChangePassword("app", NEW_PW);
  await etcdctl(`--user=app:${NEW_PW}`, "user", "get", "app"); // the new password signs in
  await assert.rejects(etcdctl(`--user=app:${APP_PW}`, "user", "get", "app"), /authentication/);
  const failures: Error[] = [];
  await root.auth.userAdd("app", "again-pw-91").catch((e) => failures.push(e));
  await root.auth.userChangePassword("", NEW_PW).catch((e) => failures.push(e));
  await root.auth.userAdd("x", 987654321 as unknown as string).catch((e) => failures.push(e));
  assert.equal(failures.length, 3);
  assert.match(failures[0].message, /user name already exists/);
  await root.auth.disable();
  await etcd.auth.userDelete("app");
  await etcd.auth.userDelete("root");
  assert.deepEqual(lines(await etcdctl("user", "list")), []);

  const names = operations.map((op) => (op as { operation: string }).operation);
  assert.ok(names.includes("UserAdd") && names.includes("UserChangePassword"), String(names));
  const shown = [
    ...failures.flatMap((e) => [e.message, String(e), inspect(e, { depth: 5 }), e.stack ?? ""]),
    inspect(root, { depth: 5 }),
    inspect(root.auth, { depth: 5 }),
    JSON.stringify(root),
    inspect(operations, { depth: 5 }),
    inspect(logged, { depth: 5 }),
  ].join("\n");
  for (const pw of [ROOT_PW, APP_PW, NEW_PW, "again-pw-91", "987654321"]) {
    assert.ok(!shown.includes(pw), `${pw} was shown`);
  }
});
