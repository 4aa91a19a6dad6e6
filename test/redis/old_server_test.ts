// RedisClient against a fake peer that behaves like a server without HELLO (Redis < 6, or a
// proxy): the client falls back to RESP2 with AUTH / CLIENT SETNAME / SELECT and works on.
import { test } from "node:test";
import assert from "node:assert/strict";
import { RedisClient } from "../../src/redis/client.ts";
import { RedisError } from "../../src/redis/errors.ts";
import type { Transport } from "../../src/core/transport.ts";
import { memoryConnector } from "../../transports/memory.ts";

/** Reads whole RESP commands (arrays of bulk strings) from the wire; independent of src/. */
function parseCommands(text: string): [string[][], string] {
  const commands: string[][] = [];
  let rest = text;
  for (;;) {
    const head = /^\*(\d+)\r\n/.exec(rest);
    if (!head) return [commands, rest];
    let pos = head[0].length;
    const args: string[] = [];
    for (let i = 0; i < Number(head[1]); i++) {
      const len = /^\$(\d+)\r\n/.exec(rest.slice(pos));
      if (!len) return [commands, rest];
      const start = pos + len[0].length;
      if (rest.length < start + Number(len[1]) + 2) return [commands, rest];
      args.push(rest.slice(start, start + Number(len[1])));
      pos = start + Number(len[1]) + 2;
    }
    commands.push(args);
    rest = rest.slice(pos);
  }
}

/** A RESP2-only server with a password; records every command it saw. */
function oldServer(
  password: string,
  seen: string[][],
  echo = true,
): (server: Transport) => void {
  return (server) => {
    serve(server, password, seen, echo).catch(() => {}); // the client hanging up ends the session
  };
}

async function serve(
  server: Transport,
  password: string,
  seen: string[][],
  echo: boolean,
): Promise<void> {
  let buffered = "";
  let authed = false;
  const store = new Map<string, string>();
  for (let chunk = await server.read(); chunk !== null; chunk = await server.read()) {
    const [commands, rest] = parseCommands(buffered + new TextDecoder().decode(chunk));
    buffered = rest;
    let out = "";
    for (const [name, ...args] of commands) {
      seen.push([name, ...args]);
      const upper = name.toUpperCase();
      if (upper === "HELLO") out += "-ERR unknown command 'HELLO'\r\n";
      else if (upper === "AUTH") {
        authed = args.at(-1) === password;
        out += authed ? "+OK\r\n" : "-ERR invalid password\r\n";
      } else if (!authed) out += "-NOAUTH Authentication required.\r\n";
      else if (upper === "SET") {
        store.set(args[0], args[1]);
        out += "+OK\r\n";
      } else if (upper === "GET") {
        const v = store.get(args[0]);
        out += v === undefined ? "$-1\r\n" : `$${v.length}\r\n${v}\r\n`;
      } else if (upper === "ECHO" && echo) out += `$${args[0].length}\r\n${args[0]}\r\n`;
      else if (upper === "ECHO") out += "-ERR unknown command 'ECHO'\r\n";
      else if (upper === "PING") out += "+PONG\r\n";
      else out += "+OK\r\n";
    }
    if (out) server.write(new TextEncoder().encode(out));
  }
  await server.end();
}

test("redis old server: HELLO refused, the client falls back to RESP2 and authenticates", async () => {
  const seen: string[][] = [];
  const redis = await RedisClient.connect({
    connect: memoryConnector(oldServer("pw", seen)),
    password: "pw",
    clientName: "app",
    db: 4,
    decode: true,
  });
  try {
    assert.equal(redis.protocol, 2);
    assert.deepEqual(seen.slice(0, 5).map((c) => c[0]), [
      "HELLO",
      "AUTH",
      "CLIENT",
      "SELECT",
      "ECHO",
    ]);
    assert.deepEqual(seen[2], ["CLIENT", "SETNAME", "app"]);
    assert.deepEqual(seen[3], ["SELECT", "4"]);
    assert.equal(await redis.set("k", "v"), true);
    assert.equal(await redis.get("k"), "v");
  } finally {
    await redis.close();
  }
});

test("redis old server: a wrong password after the fallback is a RedisError from connect", async () => {
  const seen: string[][] = [];
  await assert.rejects(
    RedisClient.connect({ connect: memoryConnector(oldServer("pw", seen)), password: "nope" }),
    (e: unknown) => e instanceof RedisError && /invalid password/.test(e.message),
  );
  assert.deepEqual(seen.map((c) => c[0]), ["HELLO", "AUTH"], "nothing else ran");
});

test("redis old server: without ECHO (a proxy, a renamed command) the ready check is a PING", async () => {
  const seen: string[][] = [];
  const redis = await RedisClient.connect({
    connect: memoryConnector(oldServer("pw", seen, false)),
    password: "pw",
    decode: true,
  });
  try {
    assert.deepEqual(seen.map((c) => c[0]), ["HELLO", "AUTH", "ECHO", "PING"]);
    assert.equal(await redis.set("k", "v"), true);
    assert.equal(await redis.get("k"), "v");
  } finally {
    await redis.close();
  }
});
