// allowRedirect of the v2 client. A real 3-member etcd cluster (--enable-v2): a follower carries
// out writes itself (3.4 forwards them to the leader, it never redirects). A loopback redirector
// standing in for an etcd 0.4 follower (or a proxy, under a versionPrefix) answers 307s: they are
// followed only to members of the cluster, at most maxRedirects times, never with
// allowRedirect: false.

import * as net from "node:net";
import { Buffer } from "node:buffer";
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { startEtcdCluster } from "../../scripts/servers.ts";
import { TimeoutError } from "../../src/core/errors.ts";
import { EtcdKeyNotFoundError, EtcdV2Error, EtcdV2RedirectError } from "../../src/etcd/errors.ts";
import { EtcdV2Client } from "../../src/etcd/v2.ts";

const cluster = await startEtcdCluster(3);
const urls = cluster.endpoints.map((e) => `http://${e}`);

interface Seen {
  method: string;
  path: string;
  body: string;
}

/** A loopback HTTP/1.1 server answering `…/machines` with the cluster and `answer` else. */
async function startRedirector(
  answer: (req: Seen) => { status: number; location?: string; after?: number; silent?: boolean },
) {
  const seen: Seen[] = [];
  let accepted = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let buffer = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const end = buffer.indexOf("\r\n\r\n");
        if (end === -1) return;
        const head = buffer.subarray(0, end).toString("latin1").split("\r\n");
        const length = Number(/^content-length:\s*(\d+)/im.exec(head.join("\n"))?.[1] ?? 0);
        if (buffer.length < end + 4 + length) return;
        const [method, path] = head[0].split(" ");
        const req = { method, path, body: buffer.subarray(end + 4, end + 4 + length).toString() };
        buffer = buffer.subarray(end + 4 + length);
        seen.push(req);
        const { status, location, after = 0, silent } = path.endsWith("/machines")
          ? { status: 200 }
          : answer(req);
        if (silent) continue;
        const body = status === 200 ? urls.join(", ") : "";
        setTimeout(() =>
          socket.write(
            `HTTP/1.1 ${status} Status\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
              (location === undefined ? "" : `Location: ${location}\r\n`) + `\r\n${body}`,
          ), after);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    endpoint: `127.0.0.1:${port}`,
    seen,
    get accepted() {
      return accepted;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

const probe = new EtcdV2Client({ endpoints: cluster.endpoints });
const leader = await probe.leader();
const follower = cluster.endpoints.find((e) => !leader.clientURLs.includes(`http://${e}`))!;
const d = `/kvwire-v2-redirect/${crypto.randomUUID()}`;
after(async () => {
  await probe.close();
  await cluster.stop();
});

test("etcd 3.4 does not redirect: a follower carries out writes, allowRedirect: false or not", async () => {
  await using onFollower = new EtcdV2Client({ endpoints: [follower], allowRedirect: false });
  const written = await onFollower.write(`${d}/f`, "on-follower");
  const waiting = onFollower.watch(`${d}/f`, { index: written.modifiedIndex + 1 });
  await onFollower.write(`${d}/f`, "again", { prevValue: "on-follower" });
  assert.equal((await waiting).value, "again");
  assert.equal((await probe.read(`${d}/f`, { quorum: true })).value, "again");
  assert.equal((await onFollower.write(`${d}/q`, "x", { append: true })).action, "create");
  await onFollower.delete(`${d}/f`);
  // What "sensitive" is left on a 3.4 follower is refused outright, not redirected.
  const refused = await onFollower.serverStats("leader").catch((e) => e);
  assert.ok(refused instanceof EtcdV2Error && !(refused instanceof EtcdV2RedirectError));
  assert.equal(refused.errorCode, 403);
  assert.match(refused.message, /not current leader/);
});

test("a 307 to a member the cluster lists is followed with its method and body", async () => {
  const redirector = await startRedirector((req) => ({
    status: 307,
    location: `http://${follower}${req.path}`,
  }));
  try {
    await using client = new EtcdV2Client({ endpoints: [redirector.endpoint] });
    const written = await client.write(`${d}/r`, "redirected", { ttl: 60 });
    assert.equal(written.value, "redirected");
    assert.equal((await probe.read(`${d}/r`)).value, "redirected");
    const waiting = client.watch(`${d}/r`, { index: written.modifiedIndex + 1 });
    const appended = await client.write(`${d}/r-queue`, "first", { append: true });
    assert.equal(appended.action, "create");
    await probe.write(`${d}/r`, "changed");
    assert.equal((await waiting).value, "changed");
    assert.equal((await client.delete(`${d}/r`)).prevNode?.value, "changed");
    const put = redirector.seen.find((s) => s.method === "PUT");
    assert.match(put!.body, /value=redirected/);
    // The watch runs on a connection of its own: the order of arrival is not fixed.
    assert.deepEqual(
      redirector.seen.map((s) => `${s.method} ${s.path.split("?")[0]}`).sort(),
      [
        `DELETE /v2/keys${d}/r`,
        `GET /v2/keys${d}/r`,
        "GET /v2/machines", // the follower is not an endpoint: the cluster's list is read once
        `POST /v2/keys${d}/r-queue`,
        `PUT /v2/keys${d}/r`,
      ],
    );
  } finally {
    await redirector.close();
  }
});

test("versionPrefix: a proxy serving the API under /etcd that redirects to a member", async () => {
  const proxy = await startRedirector((req) => ({
    status: 307,
    location: `http://${follower}${req.path.replace(/^\/etcd\//, "/v2/")}`,
  }));
  try {
    await using client = new EtcdV2Client({ endpoints: [proxy.endpoint], versionPrefix: "/etcd" });
    assert.equal((await client.write(`${d}/p`, "via-proxy")).value, "via-proxy");
    assert.equal((await probe.read(`${d}/p`)).value, "via-proxy");
    assert.deepEqual(await client.machines(), urls);
    assert.deepEqual(proxy.seen.map((s) => s.path), [
      `/etcd/keys${d}/p`,
      "/etcd/machines",
      "/etcd/machines",
    ]);
  } finally {
    await proxy.close();
  }
});

test("a redirect to one of the client's endpoints is followed without asking the cluster", async () => {
  const redirector = await startRedirector((req) => ({
    status: 302,
    location: `http://${follower}${req.path}`,
  }));
  try {
    await using client = new EtcdV2Client({ endpoints: [redirector.endpoint, follower] });
    assert.equal((await client.write(`${d}/e`, "e")).value, "e");
    assert.deepEqual(redirector.seen.map((s) => s.method), ["PUT"]);
  } finally {
    await redirector.close();
  }
});

test("allowRedirect: false: the redirect fails typed, naming status and Location", async () => {
  const location = `http://${follower}/v2/keys${d}/no`;
  const redirector = await startRedirector(() => ({ status: 307, location }));
  try {
    await using client = new EtcdV2Client({
      endpoints: [redirector.endpoint],
      allowRedirect: false,
    });
    const error = await client.write(`${d}/no`, "x").catch((e) => e);
    assert.ok(error instanceof EtcdV2RedirectError, String(error));
    assert.equal(error.errorCode, 307);
    assert.equal(error.location, location);
    assert.equal(error.sent, false);
    assert.match(error.message, /PUT \/v2\/keys.*redirected \(HTTP 307\).*allowRedirect is false/);
    await assert.rejects(probe.read(`${d}/no`), EtcdKeyNotFoundError);
    assert.equal(redirector.seen.length, 1);
  } finally {
    await redirector.close();
  }
});

test("a Location outside the cluster, of another scheme or missing is refused, never contacted", async () => {
  const outside = await startRedirector(() => ({ status: 200 }));
  let location: string | undefined;
  const redirector = await startRedirector(() => ({ status: 307, location }));
  try {
    await using client = new EtcdV2Client({ endpoints: [redirector.endpoint] });
    const cases: [string | undefined, RegExp][] = [
      [
        `http://${outside.endpoint}/v2/keys/x`,
        /neither an endpoint .* nor one of the cluster.s machines/,
      ],
      [`https://${follower}/v2/keys/x`, /speaks http:\/\/ and the Location is https:/],
      [`http://user:pw@${follower}/v2/keys/x`, /carries credentials/],
      [undefined, /has no Location/],
    ];
    for (const [where, why] of cases) {
      location = where;
      const error = await client.write(`${d}/out`, "x").catch((e) => e);
      assert.ok(error instanceof EtcdV2RedirectError, String(error));
      assert.match(error.message, why);
      assert.doesNotMatch(error.message, /pw/);
    }
    assert.equal(outside.accepted, 0, "the host outside the cluster was never connected to");
    await assert.rejects(probe.read(`${d}/out`), EtcdKeyNotFoundError);
  } finally {
    await redirector.close();
    await outside.close();
  }
});

test("redirects stop at maxRedirects; a bad maxRedirects is a RangeError", async () => {
  const redirector = await startRedirector((req) => ({ status: 301, location: req.path }));
  try {
    await using client = new EtcdV2Client({ endpoints: [redirector.endpoint], maxRedirects: 2 });
    const error = await client.read(`${d}/loop`).catch((e) => e);
    assert.ok(error instanceof EtcdV2RedirectError, String(error));
    assert.match(error.message, /limit of 2 redirects/);
    assert.equal(redirector.seen.length, 3, "the first request and two redirects followed");
  } finally {
    await redirector.close();
  }
  for (const maxRedirects of [-1, 1.5, Number.NaN]) {
    assert.throws(() => new EtcdV2Client({ maxRedirects }), RangeError);
  }
});

test("the redirects of a call share its one deadline", async () => {
  // The first answer, a redirect, takes 800 ms of the 1,000 ms; the redirected request is never
  // answered: the call ends at 1,000 ms, not 800 ms plus a fresh 1,000.
  const redirector = await startRedirector((req) =>
    req.path.includes("/slow?") ? { status: 307, location: "/v2/keys/silent", after: 800 } : {
      status: 0,
      silent: true,
    }
  );
  try {
    await using client = new EtcdV2Client({
      endpoints: [redirector.endpoint],
      requestTimeout: 1000,
    });
    const started = Date.now();
    await assert.rejects(client.read("/slow", { quorum: true }), TimeoutError);
    const took = Date.now() - started;
    assert.ok(took >= 950 && took < 1600, `took ${took} ms`);
    assert.deepEqual(redirector.seen.map((s) => s.path), [
      "/v2/keys/slow?quorum=true",
      "/v2/keys/silent",
    ]);
  } finally {
    await redirector.close();
  }
});
