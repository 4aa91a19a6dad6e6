#!/usr/bin/env node
// kvwire-tunnel: the WebSocket tunnel relay's command line (Node, Deno, Bun), shipped as the
// package's bin. `serve` runs a relay, `token` mints a token, `check` explains the allow-list.

import { readFileSync } from "node:fs";
import process from "node:process";
import { parseArgs } from "node:util";
import { serveTunnel, type TunnelServer } from "../transports/tunnel_server.ts";
import { AllowList, explicitlyListed, specialRange } from "../src/tunnel/allow_list.ts";
import { formatTarget, parseTarget } from "../src/tunnel/host.ts";
import { createTunnelToken } from "../src/tunnel/token.ts";

const USAGE = `Usage:
  kvwire-tunnel serve --allow <host:port> [--allow ...] [options]
  kvwire-tunnel token --target <host:port> [--target ...] [--ttl <seconds>] [--subject <name>]
  kvwire-tunnel check --allow <host:port> [--allow ...] <host:port>...

Allow-list and token targets: 10.0.0.5:6379, 10.0.0.0/24:7000-7005, [fd00::/8]:6379,
redis.internal:6379, *.cache.internal:*. Link-local, metadata, 0.0.0.0 and multicast addresses
are refused unless an entry names them on purpose.

The secret (at least 32 bytes) comes from $KVWIRE_TUNNEL_SECRET, --secret-env NAME or
--secret-file PATH (never from the command line); several --secret-env/--secret-file verify
tokens during a rotation, and the first one signs.

serve options:
  --listen <host:port>        where to listen (default 127.0.0.1:8787)
  --max-connections <n>       connections at most, handshakes included (default 256)
  --max-handshakes-per-ip <n> handshakes in progress from one IP at most (default 64)
  --handshake-timeout <seconds> for a client to send its request head (default 10)
  --idle-timeout <seconds>    close tunnels idle this long, 0 = never (default 300)
  --connect-timeout <seconds> resolve + connect (+TLS) to a target (default 10)
  --max-message-size <bytes>  largest client message (default 1048576)
  --max-fragments <n>         most frames in one message, empty ones too (default 128)
  --budget-window <seconds>   a client's budget window (default 1)
  --max-frames <n>            frames a client may send per budget window, 0 = no limit
                              (default 20000); over budget, the relay stops reading it
  --max-bytes <bytes>         bytes a client may send per budget window, frame headers
                              included, 0 = no limit (default 67108864)
  --drain-timeout <seconds>   drop a client that does not read for this long (default 30)
  --tls-cert/--tls-key <file> serve wss:// with this certificate
  --target-ca <file>          trust this CA for targets reached with tls=1
  --insecure-no-auth          accept clients without a token (never in production)
  --quiet                     no per-connection logs
`;

/** Where the CLI writes (replaceable in tests). */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  env: Record<string, string | undefined>;
}

const defaultIo: CliIo = {
  out: (line) => console.log(line),
  err: (line) => console.error(line),
  env: process.env,
};

function secrets(values: { "secret-env"?: string[]; "secret-file"?: string[] }, io: CliIo) {
  const out: string[] = [];
  for (const name of values["secret-env"] ?? []) {
    const value = io.env[name];
    if (!value) throw new TypeError(`Environment variable ${name} is empty or unset`);
    out.push(value);
  }
  for (const file of values["secret-file"] ?? []) out.push(readFileSync(file, "utf8").trim());
  if (out.length === 0 && io.env.KVWIRE_TUNNEL_SECRET) out.push(io.env.KVWIRE_TUNNEL_SECRET);
  return out;
}

/** A flag's number, or undefined when not given (the relay's default applies). */
function number(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!(value >= 0)) throw new RangeError(`--${name} must be a non-negative number, got "${text}"`);
  return value;
}

/** A flag in seconds, as milliseconds, or undefined when not given. */
function seconds(text: string | undefined, name: string): number | undefined {
  const value = number(text, name);
  return value === undefined ? undefined : value * 1000;
}

/**
 * Runs the CLI. `serve` resolves with the running server (it keeps running); `token` and
 * `check` resolve with an exit code.
 *
 * @example
 * ```ts
 * const server = await runTunnelCli(["serve", "--listen", "127.0.0.1:0", "--allow", "127.0.0.1:6379"]);
 * ```
 */
export async function runTunnelCli(
  argv: string[],
  io: CliIo = defaultIo,
): Promise<number | TunnelServer> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      allow: { type: "string", multiple: true },
      target: { type: "string", multiple: true },
      listen: { type: "string" },
      ttl: { type: "string" },
      subject: { type: "string" },
      "secret-env": { type: "string", multiple: true },
      "secret-file": { type: "string", multiple: true },
      "max-connections": { type: "string" },
      "idle-timeout": { type: "string" },
      "connect-timeout": { type: "string" },
      "max-message-size": { type: "string" },
      "max-handshakes-per-ip": { type: "string" },
      "handshake-timeout": { type: "string" },
      "max-fragments": { type: "string" },
      "budget-window": { type: "string" },
      "max-frames": { type: "string" },
      "max-bytes": { type: "string" },
      "drain-timeout": { type: "string" },
      "tls-cert": { type: "string" },
      "tls-key": { type: "string" },
      "target-ca": { type: "string" },
      "insecure-no-auth": { type: "boolean" },
      quiet: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    io.out(USAGE);
    return values.help ? 0 : 2;
  }
  if (command === "token") {
    const [secret] = secrets(values, io);
    if (!secret) throw new TypeError("No secret: set $KVWIRE_TUNNEL_SECRET or --secret-env");
    if (!values.target?.length) throw new TypeError("token needs at least one --target");
    io.out(
      await createTunnelToken({
        secret,
        targets: values.target,
        expiresIn: number(values.ttl, "ttl") ?? 3600,
        subject: values.subject,
      }),
    );
    return 0;
  }
  const allow = AllowList.parse(values.allow ?? []);
  if (command === "check") {
    let refused = 0;
    for (const text of rest) {
      const target = parseTarget(text);
      const entry = allow.match(target);
      const special = specialRange(target.host);
      const ok = entry !== undefined && (!special || explicitlyListed(allow, target));
      if (!ok) refused++;
      const why = !entry ? "not in the allow-list" : ok ? `by ${entry.text}` : special!.why;
      io.out(`${formatTarget(target)}: ${ok ? "allowed" : "refused"} (${why})`);
    }
    return refused === 0 ? 0 : 1;
  }
  if (command !== "serve") {
    io.err(USAGE);
    return 2;
  }
  const keys = secrets(values, io);
  if (keys.length === 0 && !values["insecure-no-auth"]) {
    throw new TypeError(
      "No secret: set $KVWIRE_TUNNEL_SECRET, --secret-env or --secret-file " +
        "(or --insecure-no-auth, never in production)",
    );
  }
  if (allow.entries.length === 0) throw new TypeError("serve needs at least one --allow entry");
  const listenText = values.listen ?? "127.0.0.1:8787";
  const anyPort = listenText.endsWith(":0"); // port 0: pick a free one
  const listen = parseTarget(anyPort ? `${listenText.slice(0, -2)}:1` : listenText);
  const port = anyPort ? 0 : listen.port;
  const host = listen.host.text;
  const tlsFiles = values["tls-cert"] && values["tls-key"]
    ? {
      cert: readFileSync(values["tls-cert"], "utf8"),
      key: readFileSync(values["tls-key"], "utf8"),
    }
    : undefined;
  const server = await serveTunnel({
    host,
    port,
    secrets: keys,
    insecureNoAuth: values["insecure-no-auth"] === true,
    allow,
    maxConnections: number(values["max-connections"], "max-connections"),
    idleTimeout: seconds(values["idle-timeout"], "idle-timeout"),
    connectTimeout: seconds(values["connect-timeout"], "connect-timeout"),
    maxMessageSize: number(values["max-message-size"], "max-message-size"),
    maxHandshakesPerIp: number(values["max-handshakes-per-ip"], "max-handshakes-per-ip"),
    handshakeTimeout: seconds(values["handshake-timeout"], "handshake-timeout"),
    maxFragments: number(values["max-fragments"], "max-fragments"),
    budgetWindow: seconds(values["budget-window"], "budget-window"),
    maxFramesPerWindow: number(values["max-frames"], "max-frames"),
    maxBytesPerWindow: number(values["max-bytes"], "max-bytes"),
    drainTimeout: seconds(values["drain-timeout"], "drain-timeout"),
    tls: tlsFiles,
    targetTls: values["target-ca"] ? { ca: readFileSync(values["target-ca"], "utf8") } : undefined,
    log: values.quiet
      ? undefined
      : (entry) => io.out(JSON.stringify({ ts: new Date().toISOString(), ...entry })),
  });
  io.out(JSON.stringify({
    ts: new Date().toISOString(),
    event: "listening",
    url: server.url,
    allow: allow.toJSON(),
    auth: values["insecure-no-auth"] ? "none (insecure)" : `${keys.length} secret(s)`,
  }));
  return server;
}

const invoked = process.argv[1] ?? "";
if (import.meta.main ?? /(scripts\/tunnel\.ts|kvwire-tunnel(\.[cm]?js)?)$/.test(invoked)) {
  try {
    const result = await runTunnelCli(process.argv.slice(2));
    if (typeof result === "number") {
      process.exitCode = result;
    } else {
      const stop = (): void => void result.close().then(() => process.exit(0));
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    }
  } catch (error) {
    console.error(`kvwire-tunnel: ${error instanceof Error ? error.message : error}`);
    process.exitCode = 2;
  }
}
