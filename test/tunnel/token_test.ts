// Tunnel tokens (src/tunnel/token.ts): round trip, expiry, forgery, tampering, key rotation.

import { test } from "node:test";
import assert from "node:assert/strict";
import {
  base64UrlDecode,
  base64UrlEncode,
  createTunnelToken,
  importTunnelSecret,
  verifyTunnelToken,
} from "../../src/tunnel/token.ts";
import { SECRET } from "./_helpers.ts";

const OTHER = "another-secret-0123456789-abcdefghijklmn";

test("token: base64url round-trips every byte value", () => {
  const all = new Uint8Array(256).map((_, i) => i);
  for (let n = 0; n <= 256; n += 37) {
    const text = base64UrlEncode(all.subarray(0, n));
    assert.match(text, /^[A-Za-z0-9_-]*$/);
    assert.deepEqual(base64UrlDecode(text), all.subarray(0, n));
  }
  assert.equal(base64UrlDecode("a+b/"), undefined);
  assert.equal(base64UrlDecode("abcde"), undefined);
});

test("token: a fresh token verifies and carries its targets, subject and expiry", async () => {
  const now = Date.UTC(2026, 0, 1);
  const token = await createTunnelToken({
    secret: SECRET,
    targets: ["127.0.0.1:6379", "10.0.0.0/24:7000-7005"],
    expiresIn: 60,
    now,
    subject: "worker-a",
  });
  assert.match(token, /^kvt1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, "usable as a subprotocol");
  const verdict = await verifyTunnelToken(token, { secrets: [SECRET], now: now + 59_000 });
  assert.ok(verdict.ok);
  assert.deepEqual(verdict.claims.targets, ["127.0.0.1:6379", "10.0.0.0/24:7000-7005"]);
  assert.equal(verdict.claims.sub, "worker-a");
  assert.equal(verdict.claims.exp, now / 1000 + 60);
  assert.equal(verdict.targets.entries.length, 2);
});

test("token: expiry, wrong secret, tampering and garbage are told apart", async () => {
  const now = Date.UTC(2026, 0, 1);
  const token = await createTunnelToken({
    secret: SECRET,
    targets: "h.test:1",
    expiresIn: 60,
    now,
  });
  const check = (t: string | undefined, at = now) =>
    verifyTunnelToken(t, { secrets: [SECRET], now: at }).then((v) => (v.ok ? "ok" : v.problem));
  assert.equal(await check(token, now + 60_000), "expired");
  assert.equal(await check(token, now - 3600_000), "not_yet_valid");
  assert.equal(await check(undefined), "missing");
  assert.equal(await check(""), "missing");
  assert.equal(await check("kvt1.a.b.c"), "malformed");
  assert.equal(await check("kvt2" + token.slice(4)), "malformed");
  assert.equal(await check(token + "A"), "bad_signature");
  assert.equal(await check("x".repeat(5000)), "malformed");
  const forged = await createTunnelToken({ secret: OTHER, targets: "h.test:1", now });
  assert.equal(await check(forged), "bad_signature");
  // Flip each character of the payload: the signature no longer matches.
  const [prefix, payload, signature] = token.split(".");
  for (let i = 0; i < payload.length; i += 7) {
    const flipped = payload.slice(0, i) + (payload[i] === "A" ? "B" : "A") + payload.slice(i + 1);
    assert.notEqual(await check(`${prefix}.${flipped}.${signature}`), "ok", `flip at ${i}`);
  }
});

test("token: a signed payload that is not valid claims is malformed", async () => {
  const key = await importTunnelSecret(SECRET);
  const sign = async (claims: unknown): Promise<string> => {
    const payload = base64UrlEncode(new TextEncoder().encode(JSON.stringify(claims)));
    const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`kvt1.${payload}`));
    return `kvt1.${payload}.${base64UrlEncode(new Uint8Array(mac))}`;
  };
  const exp = Math.floor(Date.now() / 1000) + 60;
  const iat = exp - 60;
  for (const claims of [{ targets: "h:1", exp, iat }, { targets: ["bad target"], exp, iat }, {}]) {
    const verdict = await verifyTunnelToken(await sign(claims), { secrets: [SECRET] });
    assert.equal(!verdict.ok && verdict.problem, "malformed", JSON.stringify(claims));
  }
  const good = await verifyTunnelToken(await sign({ targets: ["h.test:1"], exp, iat }), {
    secrets: [SECRET],
  });
  assert.equal(good.ok, true, "the hand-made token is accepted when its claims are valid");
});

test("token: rotation verifies with any listed secret", async () => {
  const token = await createTunnelToken({ secret: OTHER, targets: "h.test:1" });
  assert.equal((await verifyTunnelToken(token, { secrets: [SECRET] })).ok, false);
  assert.equal((await verifyTunnelToken(token, { secrets: [SECRET, OTHER] })).ok, true);
});

test("token: bad options throw before signing", async () => {
  await assert.rejects(createTunnelToken({ secret: "short", targets: "h.test:1" }), RangeError);
  await assert.rejects(createTunnelToken({ secret: SECRET, targets: [] }), RangeError);
  await assert.rejects(createTunnelToken({ secret: SECRET, targets: "no port" }), TypeError);
  await assert.rejects(
    createTunnelToken({ secret: SECRET, targets: "h.test:1", expiresIn: 0 }),
    RangeError,
  );
});
