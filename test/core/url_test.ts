// Tests for src/core/url.ts: connection strings, IPv6, Unix sockets, host:port lists, redaction.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseHostPort, parseServerUrl, redactUrl } from "../../src/core/url.ts";

const schemes = {
  redis: { port: 6379, tls: false },
  rediss: { port: 6379, tls: true },
  "redis+unix": { port: 0, tls: false, unix: true },
};

test("url: credentials, port, path and query", () => {
  const url = parseServerUrl("redis://app:p%40ss@cache.local:7000/3?name=x", schemes);
  assert.deepEqual(url.address, { host: "cache.local", port: 7000 });
  assert.equal(url.username, "app");
  assert.equal(url.password, "p@ss");
  assert.equal(url.path, "3");
  assert.equal(url.params.get("name"), "x");
  assert.equal(url.tls, false);
});

test("url: defaults, TLS scheme and bracketed IPv6", () => {
  const url = parseServerUrl("rediss://[::1]", schemes);
  assert.deepEqual(url.address, { host: "::1", port: 6379 });
  assert.equal(url.tls, true);
  assert.equal(url.username, undefined);
  assert.equal(url.path, "");
});

test("url: Unix socket path with query", () => {
  const url = parseServerUrl("redis+unix:///run/redis.sock?db=2", schemes);
  assert.deepEqual(url.address, { path: "/run/redis.sock" });
  assert.equal(url.params.get("db"), "2");
  assert.throws(() => parseServerUrl("redis+unix://", schemes), /has no path/);
});

test("url: bad input is a TypeError that never shows the password", () => {
  assert.throws(() => parseServerUrl("http://h", schemes), /Unsupported URL scheme "http:"/);
  const err = (() => {
    try {
      parseServerUrl("redis://u:hunter2@bad host:1", schemes);
    } catch (e) {
      return e as Error;
    }
  })();
  assert.ok(err instanceof TypeError);
  assert.ok(!err.message.includes("hunter2"), err.message);
  assert.match(err.message, /u:\*\*\*@/);
});

test("url: host:port parsing", () => {
  assert.deepEqual(parseHostPort("a:1", 9), { host: "a", port: 1 });
  assert.deepEqual(parseHostPort("a", 9), { host: "a", port: 9 });
  assert.deepEqual(parseHostPort("[::1]:11212", 9), { host: "::1", port: 11212 });
  assert.deepEqual(parseHostPort("::1", 9), { host: "::1", port: 9 });
  assert.throws(() => parseHostPort("a:0", 9), /Invalid port/);
  assert.throws(() => parseHostPort("a:x", 9), /Invalid port/);
  assert.throws(() => parseHostPort(":80", 9), /has no host/);
  assert.throws(() => parseHostPort("", 9), /Empty host/);
});

test("url: redaction keeps everything but the password", () => {
  assert.equal(redactUrl("redis://u:secret@h:6379/0"), "redis://u:***@h:6379/0");
  assert.equal(redactUrl("redis://h:6379"), "redis://h:6379");
});
