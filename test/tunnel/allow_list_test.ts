// Host parsing, the allow-list, special-purpose ranges and admission (src/tunnel/host.ts,
// allow_list.ts, policy.ts), without sockets.

import { test } from "node:test";
import assert from "node:assert/strict";
import {
  formatIPv6,
  formatTarget,
  HostSyntaxError,
  parseHost,
  parseIP,
  parseIPv4,
  parseIPv6,
  parseTarget,
} from "../../src/tunnel/host.ts";
import {
  AllowList,
  explicitlyListed,
  parseAllowEntry,
  specialRange,
} from "../../src/tunnel/allow_list.ts";
import { admit } from "../../src/tunnel/policy.ts";
import { createTunnelToken } from "../../src/tunnel/token.ts";
import { fakeResolver, SECRET } from "./_helpers.ts";

test("host: only the canonical dotted quad is an IPv4 address", () => {
  assert.deepEqual([...parseIPv4("127.0.0.1")!], [127, 0, 0, 1]);
  assert.deepEqual([...parseIPv4("0.0.0.0")!], [0, 0, 0, 0]);
  for (const bad of ["127.1", "127.0.0.01", "0x7f.0.0.1", "256.0.0.1", "1.2.3.4.5", "1..2.3", ""]) {
    assert.equal(parseIPv4(bad), undefined, bad);
  }
});

test("host: IPv6 parses every form and formats canonically", () => {
  const cases: [string, string][] = [
    ["::1", "::1"],
    ["0:0:0:0:0:0:0:1", "::1"],
    ["::", "::"],
    ["FD00::10", "fd00::10"],
    ["::ffff:127.0.0.1", "::ffff:7f00:1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
  ];
  for (const [text, canonical] of cases) assert.equal(formatIPv6(parseIPv6(text)!), canonical);
  for (
    const bad of ["fe80::1%eth0", "1::2::3", "1:2:3:4:5:6:7:8:9", "::ffff:1.2.3", "12345::", ":1"]
  ) {
    assert.equal(parseIPv6(bad), undefined, bad);
  }
});

test("host: numeric names and odd spellings are refused with the text quoted", () => {
  for (
    const bad of ["2130706433", "0x7f000001", "127.1", "0177.0.0.1", "a.0x10", "1.2.3.4.", "0"]
  ) {
    assert.throws(
      () => parseHost(bad),
      (e) => e instanceof HostSyntaxError && e.message.includes(bad),
    );
  }
  for (
    const bad of ["::1", "[::1", "[fe80::1%25lo]", "exa mple.com", "-a.com", "a..b", "é.com", ""]
  ) {
    assert.throws(() => parseHost(bad), HostSyntaxError, JSON.stringify(bad));
  }
  assert.deepEqual(parseHost("Redis.Internal."), { kind: "name", text: "redis.internal" });
  assert.equal(parseHost("[0::1]").text, "::1");
});

test("host: targets need a canonical port", () => {
  assert.equal(formatTarget(parseTarget("[0:0::1]:6379")), "[::1]:6379");
  assert.equal(parseTarget("redis:1").port, 1);
  for (
    const bad of ["host", "host:", ":6379", "host:0", "host:65536", "host:06379", "host:+1", "h:1 "]
  ) {
    assert.throws(() => parseTarget(bad), HostSyntaxError, bad);
  }
});

test("allow-list: entries parse ports, ranges, wildcards and CIDRs", () => {
  const entry = parseAllowEntry("10.1.2.3/8:7000-7005");
  assert.deepEqual([entry.kind, [...entry.network!], entry.prefix], ["cidr", [10, 0, 0, 0], 8]);
  assert.deepEqual([entry.portMin, entry.portMax], [7000, 7005]);
  assert.equal(parseAllowEntry("[fd00::/8]:*").prefix, 8);
  assert.equal(parseAllowEntry("[fd00::]/8:*").prefix, 8);
  assert.equal(parseAllowEntry("*.cache.internal:6379").kind, "wildcard");
  for (
    const bad of ["10.0.0.0/33:1", "host:7005-7000", "host:0", "*.10.0.0.1:1", "name/8:1", "x"]
  ) {
    assert.throws(() => parseAllowEntry(bad), HostSyntaxError, bad);
  }
});

test("allow-list: names match names and IP entries match IP literals only", () => {
  const list = AllowList.parse("127.0.0.1:6379, 10.0.0.0/8:7000-7005 [fd00::/8]:6379 *.svc.test:*");
  const yes = [
    "127.0.0.1:6379",
    "10.255.0.1:7003",
    "[fd12::1]:6379",
    "a.svc.test:1",
    "b.a.svc.test:9",
  ];
  const no = [
    "127.0.0.1:6380",
    "localhost:6379",
    "[::ffff:127.0.0.1]:6379",
    "11.0.0.1:7003",
    "10.0.0.1:7006",
    "[fe00::1]:6379",
    "svc.test:1",
    "xsvc.test:1",
  ];
  for (const t of yes) assert.ok(list.match(parseTarget(t)), `${t} allowed`);
  for (const t of no) assert.equal(list.match(parseTarget(t)), undefined, `${t} refused`);
  assert.deepEqual(list.toJSON(), [
    "127.0.0.1:6379",
    "10.0.0.0/8:7000-7005",
    "[fd00::/8]:6379",
    "*.svc.test:*",
  ]);
});

test("allow-list: special ranges need an entry naming them on purpose", () => {
  const metadata = parseTarget("169.254.169.254:80");
  assert.match(specialRange(metadata.host)!.why, /link-local/);
  assert.equal(specialRange(parseIP("127.0.0.1")!), undefined);
  assert.equal(specialRange(parseIP("10.0.0.1")!), undefined);
  assert.equal(specialRange(parseIP("::1")!), undefined);
  assert.match(specialRange(parseIP("::ffff:169.254.1.1")!)!.why, /link-local/);
  assert.equal(explicitlyListed(AllowList.parse("0.0.0.0/0:*"), metadata), false);
  assert.equal(explicitlyListed(AllowList.parse("169.0.0.0/8:*"), metadata), false);
  assert.equal(explicitlyListed(AllowList.parse("169.254.0.0/16:80"), metadata), true);
  assert.equal(explicitlyListed(AllowList.parse("169.254.169.254:80"), metadata), true);
  assert.equal(explicitlyListed(AllowList.parse("169.254.169.254:81"), metadata), false);
});

const policy = {
  secrets: [SECRET],
  allow: AllowList.parse(["127.0.0.1:6379", "redis.test:6379", "169.254.169.254:80"]),
  resolve: fakeResolver({ "redis.test": ["10.0.0.7", "10.0.0.8"] }),
  resolveTimeout: 1000,
  now: Date.now,
};

async function request(target: string, targets: string[], extra = ""): Promise<{
  query: URLSearchParams;
  protocols: string[];
}> {
  const token = await createTunnelToken({ secret: SECRET, targets });
  const query = new URLSearchParams(`target=${encodeURIComponent(target)}${extra}`);
  return { query, protocols: ["kvwire.tunnel.v1", `kvwire.auth.${token}`] };
}

test("admit: dials resolved IPs with the name for TLS, and listed special addresses", async () => {
  const named = await admit(
    await request("redis.test:6379", ["redis.test:6379"], "&tls=1"),
    policy,
  );
  assert.deepEqual(named.ok && [named.dial, named.tls, named.serverName], [
    [{ host: "10.0.0.7", port: 6379 }, { host: "10.0.0.8", port: 6379 }],
    true,
    "redis.test",
  ]);
  const listed = await admit(await request("169.254.169.254:80", ["169.254.169.254:80"]), policy);
  assert.ok(listed.ok, "an explicitly listed metadata address is admitted (not dialled here)");
  const plain = await admit(await request("127.0.0.1:6379", ["127.0.0.0/8:*"]), policy);
  assert.deepEqual(plain.ok && [plain.dial, plain.tls, plain.serverName], [
    [{ host: "127.0.0.1", port: 6379 }],
    false,
    undefined,
  ]);
});

test("admit: refusals carry a close code and a reason", async () => {
  const cases: [Promise<{ query: URLSearchParams; protocols: string[] }>, number, RegExp][] = [
    [request("127.0.0.1:6380", ["127.0.0.1:*"]), 4403, /relay's allow-list/],
    [request("127.0.0.1:6379", ["10.0.0.0/8:*"]), 4403, /by the token/],
    [request("2130706433:6379", ["127.0.0.1:*"]), 4400, /canonical IPv4/],
    [request("", ["127.0.0.1:*"]), 4400, /no target/],
    [request("redis.test:6379", ["redis.test:6379"], "&servername=10.0.0.1"), 4400, /servername/],
  ];
  for (const [req, code, reason] of cases) {
    const verdict = await admit(await req, policy);
    assert.equal(verdict.ok, false);
    if (!verdict.ok) {
      assert.equal(verdict.code, code);
      assert.match(verdict.reason, reason);
    }
  }
  const open = await admit(
    { query: new URLSearchParams("target=127.0.0.1:6379"), protocols: [] },
    policy,
  );
  assert.deepEqual(open, {
    ok: false,
    code: 4401,
    reason: "token missing",
    target: undefined,
    failure: "policy",
  });
  const noAuth = await admit(
    { query: new URLSearchParams("target=127.0.0.1:6379"), protocols: [] },
    { ...policy, insecureNoAuth: true },
  );
  assert.equal(noAuth.ok, true);
});

test("admit: a resolver that never answers times out", async () => {
  const verdict = await admit(await request("redis.test:6379", ["redis.test:6379"]), {
    ...policy,
    resolve: () => new Promise(() => {}),
    resolveTimeout: 20,
  });
  assert.deepEqual(!verdict.ok && [verdict.code, verdict.failure], [4504, "timeout"]);
});
