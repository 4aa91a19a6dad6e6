// etcd endpoint strings: https:// turns TLS on for the whole client, bare host:port follows the
// tls option, and every contradiction (http:// next to https:// or tls) is a TypeError at once.
// parseEndpoints and the v2 client have no protocol: only EtcdClient's test runs on both.

import { test } from "node:test";
import assert from "node:assert/strict";
import { EtcdClient } from "../../src/etcd/client.ts";
import { parseEndpoints } from "../../src/etcd/endpoints.ts";
import { EtcdV2Client } from "../../src/etcd/v2.ts";
import { eachProtocol } from "../_helpers/etcd_protocols.ts";

test("etcd endpoints: https:// implies TLS for every endpoint; bare ones follow the tls option", () => {
  assert.deepEqual(parseEndpoints(["https://etcd-1:2379", "etcd-2:2380"], undefined), {
    addresses: [{ host: "etcd-1", port: 2379 }, { host: "etcd-2", port: 2380 }],
    tls: true,
  });
  const tls = { ca: "PEM" };
  assert.equal(parseEndpoints(["https://[::1]:2379/"], tls).tls, tls);
  assert.deepEqual(parseEndpoints(["HTTPS://e"], undefined).addresses, [{ host: "e", port: 2379 }]);
  assert.equal(parseEndpoints(["e:1", { host: "f", port: 2 }], tls).tls, tls);
  assert.equal(parseEndpoints(["e:1"], true).tls, true);
  assert.equal(parseEndpoints(["e:1", "http://f:2"], undefined).tls, undefined);
  assert.equal(parseEndpoints(["e:1"], false).tls, undefined);
  assert.deepEqual(parseEndpoints(["http://e:80"], undefined).addresses, [{ host: "e", port: 80 }]);
  assert.deepEqual(parseEndpoints(["https://e:443"], undefined).addresses, [
    { host: "e", port: 443 },
  ]);
});

test("etcd endpoints: contradictions and bad strings are TypeErrors naming the endpoint", () => {
  const refuses = (endpoints: string[], tls: boolean | object | undefined, what: RegExp): void =>
    assert.throws(() => parseEndpoints(endpoints, tls), (e: unknown) => {
      assert.ok(e instanceof TypeError, String(e));
      assert.match(e.message, what);
      return true;
    });
  refuses(["https://a:1", "http://b:2"], undefined, /"http:\/\/b:2" is plaintext/);
  refuses(["http://b:2", "https://a:1"], { ca: "PEM" }, /"http:\/\/b:2" is plaintext/);
  refuses(["http://b:2"], true, /"http:\/\/b:2" is plaintext http:\/\/ but the tls option is set/);
  refuses(["https://a:1"], false, /"https:\/\/a:1" is https:\/\/ but the tls option is false/);
  refuses(["grpc://a:1"], undefined, /"grpc:\/\/a:1" has the scheme "grpc:"/);
  refuses(["https://a:1/v3"], undefined, /"https:\/\/a:1\/v3" has a path/);
  refuses(["https://a:99999"], undefined, /Invalid port/);
  assert.throws(
    () => parseEndpoints(["https://root:hunter2@a:1"], undefined),
    (e: unknown) =>
      e instanceof TypeError && /credentials/.test(e.message) && !e.message.includes("hunter2"),
  );
  assert.throws(
    () => parseEndpoints(["etcd://root:hunter2@a:1"], undefined),
    (e: unknown) => e instanceof TypeError && !e.message.includes("hunter2"),
  );
});

const MIXED = ["https://127.0.0.1:1", "http://127.0.0.1:2"];

eachProtocol(
  "etcd endpoints: EtcdClient refuses a mixed endpoint list at construction",
  (protocol) => {
    assert.throws(
      () => new EtcdClient({ protocol, endpoints: MIXED }),
      /"http:\/\/127\.0\.0\.1:2" is plaintext/,
    );
    assert.throws(
      () => new EtcdClient({ protocol, endpoints: ["https://a:1"], tls: false }),
      TypeError,
    );
  },
);

test("etcd endpoints: EtcdV2Client refuses a mixed endpoint list at construction", () => {
  assert.throws(
    () => new EtcdV2Client({ endpoints: MIXED }),
    /"http:\/\/127\.0\.0\.1:2" is plaintext/,
  );
  assert.throws(
    () => new EtcdV2Client({ endpoints: ["http://127.0.0.1:2"], tls: true }),
    TypeError,
  );
});
