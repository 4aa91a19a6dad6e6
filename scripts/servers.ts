// Real-server harness: starts redis-server, memcached, etcd (v3.4 flags) and a Redis Cluster on
// free loopback ports in temp dirs. CLI: `tsx scripts/servers.ts [redis|memcached|etcd|redis-cluster]...`

import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";

/** The kinds of server this harness can start. */
export type ServerKind = "redis" | "memcached" | "etcd";

/**
 * A running server. It never keeps the process alive on its own; `stop()` kills it, waits for it
 * to exit and removes its temp dir, and is idempotent. Servers still running when the process
 * exits are killed then.
 *
 * @example
 * ```ts
 * const redis = await startRedis();
 * console.log(`${redis.host}:${redis.port}`);
 * await redis.stop();
 * ```
 */
export interface ServerHandle {
  readonly kind: ServerKind;
  readonly host: "127.0.0.1";
  /** TCP port; 0 for memcached with `unixSocket` (memcached's `-s` disables TCP). */
  readonly port: number;
  /** The server's temp dir (data, sockets, log). */
  readonly dir: string;
  /** The server's stdout and stderr. */
  readonly logFile: string;
  stop(): Promise<void>;
}

/** A running redis-server. */
export interface RedisServer extends ServerHandle {
  readonly kind: "redis";
  /** Set when started with `tls`. */
  readonly tlsPort?: number;
  /** Set when started with `unixSocket`. */
  readonly socketPath?: string;
}

/** A running memcached. */
export interface MemcachedServer extends ServerHandle {
  readonly kind: "memcached";
  /** Set when started with `unixSocket` (then `port` is 0). */
  readonly socketPath?: string;
  /** Set when started with `tls`: the TLS listener (`port` stays plain). */
  readonly tlsPort?: number;
}

/** A running single-member etcd. */
export interface EtcdServer extends ServerHandle {
  readonly kind: "etcd";
  /** The client URL, `http://127.0.0.1:<port>` (`https://` when started with `tls`). */
  readonly url: string;
  readonly peerPort: number;
}

/** PEM files for a TLS listener. */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
  caFile: string;
}

/** Options common to every server kind. */
export interface CommonOptions {
  /** Extra command-line arguments, appended last. */
  args?: string[];
  /** The binary to run instead of looking it up on PATH. */
  bin?: string;
  /** How long to wait for the server to answer; default 20000 ms. */
  timeoutMs?: number;
}

/** Options of {@linkcode startRedis}. */
export interface RedisOptions extends CommonOptions {
  /** Sets `requirepass`. */
  password?: string;
  /** Also listen with TLS on `tlsPort`; `authClients` defaults to `"optional"`. */
  tls?: TlsFiles & { authClients?: "yes" | "no" | "optional" };
  /** Also listen on `<dir>/redis.sock`. */
  unixSocket?: boolean;
  /**
   * Run as a cluster node (`--cluster-enabled yes`, `nodes.conf` in the temp dir) with its bus
   * on a free port of its own, picked with the client port on every attempt (port + 10000 may
   * not exist, and a bus port picked beforehand may be taken by another server meanwhile).
   */
  clusterBus?: boolean;
}

/** Options of {@linkcode startMemcached}. */
export interface MemcachedOptions extends CommonOptions {
  /** Listen on `<dir>/memcached.sock` instead of TCP. */
  unixSocket?: boolean;
  /** Also listen with TLS (`-Z`) on `tlsPort`; `port` stays plain. */
  tls?: TlsFiles;
  /**
   * Require SASL PLAIN (`-S`, binary protocol only) for this one user, kept in a sasldb in the
   * temp dir (needs `saslpasswd2`, Debian package sasl2-bin).
   */
  sasl?: { username: string; password: string };
}

/** Options of {@linkcode startEtcd}. */
export interface EtcdOptions extends CommonOptions {
  /** Serve the v2 API at `/v2/keys`; default true. */
  enableV2?: boolean;
  /**
   * Serve clients over TLS only (`https://`, `--cert-file`/`--key-file`); with
   * `clientCertAuth` clients must present a certificate signed by `caFile` (mutual TLS).
   */
  tls?: TlsFiles & { clientCertAuth?: boolean };
}

const DEBIAN_PACKAGES = "redis-server memcached etcd-server etcd-client openssl sasl2-bin";
const INSTALL_COMMAND = `apt-get update && apt-get install -y ${DEBIAN_PACKAGES}`;

// The server runs under a small sh watchdog: it logs to a file, records the server's pid, and
// when its stdin pipe (held by us) closes — also when we die by SIGKILL — it SIGKILLs the server
// and removes the temp dir.
const WATCHDOG = `dir=$1; log=$2; pidfile=$3; shift 3
exec 3<&0 </dev/null >>"$log" 2>&1
"$@" 3<&- &
p=$!
echo "$p" >"$pidfile"
{ read -r _ <&3; : >"$dir/.orphaned"; kill -9 "$p" 2>/dev/null; } &
w=$!
exec 3<&-
wait "$p"; s=$?
kill "$w" 2>/dev/null
if [ -e "$dir/.orphaned" ]; then rm -rf "$dir"; fi
exit "$s"`;

interface Proc {
  child: ChildProcess;
  dir: string;
  logFile: string;
  pidFile: string;
  exited: boolean;
  exit: Promise<void>;
}

const live = new Set<Proc>();
const ownedDirs = new Set<string>();
let exitHookInstalled = false;

function killOnExit(): void {
  for (const proc of live) killServerPid(proc);
  for (const dir of ownedDirs) {
    try {
      fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    } catch { /* best effort while exiting */ }
  }
}

function killServerPid(proc: Proc): void {
  let pid = NaN;
  try {
    pid = Number.parseInt(fs.readFileSync(proc.pidFile, "utf8"), 10);
  } catch { /* not written yet: the watchdog still kills it */ }
  if (Number.isInteger(pid) && pid > 0) {
    try {
      process.kill(pid, "SIGKILL");
    } catch { /* already gone */ }
  }
}

/**
 * Reserves `count` distinct free loopback ports by listening on port 0 and closing. Another
 * process may take one before it is used; the start functions retry when that happens.
 *
 * @example
 * ```ts
 * const [clientPort, peerPort] = await freePorts(2);
 * ```
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = net.createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => resolve());
      });
    }
    return servers.map((s) => (s.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}

function onPath(name: string): string | undefined {
  const dirs = (process.env.PATH ?? "").split(path.delimiter).filter((d) => d !== "");
  dirs.push("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin");
  for (const dir of dirs) {
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch { /* keep looking */ }
  }
  return undefined;
}

let installing: Promise<void> | undefined;

function aptInstall(): Promise<void> {
  if (!installing) {
    process.stderr.write(`kvwire: installing ${DEBIAN_PACKAGES} with apt-get\n`);
    installing = run("sh", ["-c", INSTALL_COMMAND], { DEBIAN_FRONTEND: "noninteractive" });
  }
  return installing;
}

/**
 * Finds an executable on PATH (and the usual sbin/bin dirs). When it is missing and we are root
 * with apt-get, installs the Debian packages once; otherwise throws saying what to install.
 *
 * @example
 * ```ts
 * const redisServer = await findBinary("redis-server"); // "/usr/bin/redis-server"
 * ```
 */
export async function findBinary(name: string): Promise<string> {
  const found = onPath(name);
  if (found) return found;
  const pkg = name === "etcd" ? "etcd-server" : name === "saslpasswd2" ? "sasl2-bin" : name;
  if (process.getuid?.() === 0 && onPath("apt-get")) {
    await aptInstall();
    const installed = onPath(name);
    if (installed) return installed;
    throw new Error(`"${name}" is still not on PATH after installing the Debian package ${pkg}`);
  }
  throw new Error(
    `"${name}" was not found on PATH. Install the Debian package ${pkg} ` +
      `(as root: ${INSTALL_COMMAND}) or put ${name} on PATH.`,
  );
}

function logTail(file: string, max = 4000): string {
  try {
    const text = fs.readFileSync(file, "utf8");
    return text.length > max ? `...${text.slice(-max)}` : text;
  } catch {
    return "(no log)";
  }
}

/** Thrown by one launch attempt when the port was taken in the meantime. */
class PortTakenError extends Error {}

interface LaunchSpec {
  kind: ServerKind;
  bin: string;
  args: string[];
  dir: string;
  env?: Record<string, string>;
  timeoutMs: number;
  ready: () => Promise<boolean>;
}

async function launch(spec: LaunchSpec): Promise<Proc> {
  const logFile = path.join(spec.dir, `${spec.kind}.log`);
  const pidFile = path.join(spec.dir, `${spec.kind}.pid`);
  const argv = [WATCHDOG, "kvwire-watchdog", spec.dir, logFile, pidFile, spec.bin, ...spec.args];
  const child = spawn("sh", ["-c", ...argv], {
    cwd: spec.dir,
    env: { ...process.env, ...spec.env },
    stdio: ["pipe", "ignore", "ignore"],
  });
  let spawnError: Error | undefined;
  const proc: Proc = {
    child,
    dir: spec.dir,
    logFile,
    pidFile,
    exited: false,
    exit: new Promise<void>((resolve) => {
      const done = (): void => {
        proc.exited = true;
        resolve();
      };
      child.once("exit", done);
      child.once("error", (error) => {
        spawnError = error;
        done();
      });
    }),
  };
  child.stdin?.on("error", () => {/* the watchdog is gone */});
  child.unref();
  live.add(proc);
  const deadline = Date.now() + spec.timeoutMs;
  for (;;) {
    if (proc.exited) {
      await killProc(proc, false);
      const log = logTail(logFile);
      if (/address already in use/i.test(log)) throw new PortTakenError(log);
      const why = spawnError ? `could not be spawned (${spawnError.message})` : "exited";
      throw new Error(`${spec.kind} (${spec.bin}) ${why} before it was ready. Log:\n${log}`);
    }
    if (await spec.ready()) return proc;
    if (Date.now() >= deadline) {
      const log = logTail(logFile);
      await killProc(proc, false);
      throw new Error(
        `${spec.kind} (${spec.bin}) did not answer within ${spec.timeoutMs} ms. Log:\n${log}`,
      );
    }
    await pause(50, proc.exit);
  }
}

function pause(ms: number, until: Promise<void>): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    void until.then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

async function killProc(proc: Proc, removeDir = true): Promise<void> {
  live.delete(proc);
  if (!proc.exited) {
    proc.child.ref();
    killServerPid(proc);
    proc.child.stdin?.destroy();
    const fallback = setTimeout(() => proc.child.kill("SIGKILL"), 5000);
    await proc.exit;
    clearTimeout(fallback);
  }
  if (removeDir) await dropDir(proc.dir);
}

async function tempDir(kind: ServerKind): Promise<string> {
  if (!exitHookInstalled) process.on("exit", killOnExit);
  exitHookInstalled = true;
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), `kvwire-${kind}-`));
  ownedDirs.add(dir);
  return dir;
}

async function dropDir(dir: string): Promise<void> {
  await fs.promises.rm(dir, { recursive: true, force: true, maxRetries: 3 });
  ownedDirs.delete(dir);
}

/** Runs `attempt` in a fresh temp dir, retrying with new ports when a port was taken. */
async function withRetries<T>(kind: ServerKind, attempt: (dir: string) => Promise<T>): Promise<T> {
  for (let i = 1;; i++) {
    const dir = await tempDir(kind);
    try {
      return await attempt(dir);
    } catch (error) {
      await dropDir(dir);
      if (!(error instanceof PortTakenError) || i >= 5) throw error;
    }
  }
}

function makeHandle<T extends ServerHandle>(
  proc: Proc,
  fields: Omit<T, "host" | "dir" | "logFile" | "stop">,
): T {
  let stopping: Promise<void> | undefined;
  return {
    ...fields,
    host: "127.0.0.1",
    dir: proc.dir,
    logFile: proc.logFile,
    stop: () => (stopping ??= killProc(proc)),
  } as unknown as T;
}

/**
 * Sends `request` to `target` and resolves true once `ok(text so far)` holds; false on any
 * error, close or after `timeoutMs`. Never rejects.
 */
function probe(
  target: { port: number; host: string } | { path: string },
  request: string | Uint8Array,
  ok: (text: string) => boolean,
  timeoutMs = 1000,
): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const decoder = new TextDecoder();
    let text = "";
    let settled = false;
    const socket = net.connect(target);
    const finish = (result: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on("connect", () => socket.write(request));
    socket.on("data", (chunk: Uint8Array) => {
      text += decoder.decode(chunk, { stream: true });
      if (ok(text)) finish(true);
    });
    socket.on("error", () => finish(false));
    socket.on("close", () => finish(ok(text)));
  });
}

function redisCommand(...parts: string[]): string {
  const enc = new TextEncoder();
  return `*${parts.length}\r\n${parts.map((p) => `$${enc.encode(p).length}\r\n${p}\r\n`).join("")}`;
}

/**
 * Starts `redis-server` on a free loopback port in a temp dir (no persistence).
 *
 * @example
 * ```ts
 * const redis = await startRedis({ password: "secret", unixSocket: true });
 * console.log(redis.port, redis.socketPath);
 * await redis.stop();
 * ```
 */
export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  const bin = options.bin ?? await findBinary("redis-server");
  return await withRetries("redis", async (dir) => {
    const ports = await freePorts(1 + (options.tls ? 1 : 0) + (options.clusterBus ? 1 : 0));
    const port = ports[0];
    const tlsPort = options.tls ? ports[1] : undefined;
    const busPort = ports[ports.length - 1];
    const args = ["--port", `${port}`, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
    if (options.clusterBus) {
      args.push("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf");
      args.push("--cluster-port", `${busPort}`);
    }
    args.push("--dir", dir, "--daemonize", "no");
    if (options.password !== undefined) args.push("--requirepass", options.password);
    const socketPath = options.unixSocket ? path.join(dir, "redis.sock") : undefined;
    if (socketPath) args.push("--unixsocket", socketPath, "--unixsocketperm", "700");
    if (options.tls) {
      args.push("--tls-port", `${tlsPort}`, "--tls-cert-file", options.tls.certFile);
      args.push("--tls-key-file", options.tls.keyFile, "--tls-ca-cert-file", options.tls.caFile);
      args.push("--tls-auth-clients", options.tls.authClients ?? "optional");
    }
    args.push(...options.args ?? []);
    const request = options.password === undefined
      ? "PING\r\n"
      : redisCommand("AUTH", options.password) + "PING\r\n";
    const proc = await launch({
      kind: "redis",
      bin,
      args,
      dir,
      timeoutMs: options.timeoutMs ?? 20_000,
      ready: () => probe({ host: "127.0.0.1", port }, request, (t) => t.endsWith("+PONG\r\n")),
    });
    return makeHandle<RedisServer>(proc, {
      kind: "redis",
      port,
      ...(tlsPort ? { tlsPort } : {}),
      ...(socketPath ? { socketPath } : {}),
    });
  });
}

/** A running Redis Cluster started by {@linkcode startRedisCluster}. */
export interface RedisClusterServers {
  /** Every node, masters first as `redis-cli --cluster create` assigned them. */
  readonly nodes: RedisServer[];
  /** `host:port` of every node. */
  readonly endpoints: string[];
  /** Stops every node; idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts a Redis Cluster of `masters * (1 + replicas)` nodes (default 3 masters, 1 replica
 * each) on free loopback ports, each in its own temp dir with a small `cluster-node-timeout`,
 * joins them with `redis-cli --cluster create`, and waits until every node reports
 * `cluster_state:ok` with all 16384 slots and every replica finished its initial sync. `nodes[i].stop()` SIGKILLs one node.
 *
 * @example
 * ```ts
 * const cluster = await startRedisCluster();
 * console.log(cluster.endpoints); // six "127.0.0.1:P"
 * await cluster.stop();
 * ```
 */
export async function startRedisCluster(
  options: { masters?: number; replicas?: number; nodeTimeoutMs?: number } = {},
): Promise<RedisClusterServers> {
  const masters = options.masters ?? 3;
  const count = masters * (1 + (options.replicas ?? 1));
  const cli = await findBinary("redis-cli");
  const started = await Promise.allSettled(Array.from({ length: count }, () =>
    startRedis({
      clusterBus: true,
      args: [
        ...["--cluster-node-timeout", `${options.nodeTimeoutMs ?? 1000}`],
        ...["--cluster-replica-validity-factor", "0"],
      ],
    })));
  const nodes = started.flatMap((r) => r.status === "fulfilled" ? [r.value] : []);
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<
    void
  > => (stopping ??= Promise.all(nodes.map((n) => n.stop())).then(() => {}));
  try {
    const failed = started.find((r) => r.status === "rejected");
    if (failed) throw failed.reason;
    const endpoints = nodes.map((n) => `${n.host}:${n.port}`);
    const replicas = `${options.replicas ?? 1}`;
    await run(cli, [
      "--cluster",
      "create",
      ...endpoints,
      "--cluster-replicas",
      replicas,
      "--cluster-yes",
    ]);
    const giveUp = Date.now() + 30_000;
    for (;;) {
      const healthy = (t: string): boolean =>
        t.includes("cluster_state:ok") && t.includes("cluster_slots_ok:16384");
      // Replicas count once their initial sync is over (a failover needs them).
      const synced = (t: string): boolean =>
        t.includes("role:master") ||
        (t.includes("master_link_status:up") && t.includes("master_sync_in_progress:0"));
      const states = await Promise.all(nodes.flatMap((n) => [
        probe({ host: n.host, port: n.port }, "CLUSTER INFO\r\n", healthy, 300),
        probe({ host: n.host, port: n.port }, "INFO replication\r\n", synced, 300),
      ]));
      if (states.every(Boolean)) return { nodes, endpoints, stop };
      if (Date.now() > giveUp) {
        throw new Error("The Redis Cluster did not reach cluster_state:ok in 30 s");
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Runs a program to completion (with `env` added); rejects with its output when it fails. */
function run(bin: string, args: string[], env: Record<string, string> = {}): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const child = spawn(bin, args, {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const keep = (chunk: Uint8Array): void => {
      output = (output + new TextDecoder().decode(chunk)).slice(-8000);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    child.once("error", reject);
    child.once("close", (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${bin} ${args.join(" ")} failed (${code}):\n${output}`));
    });
  });
}

/**
 * Starts `memcached` on a free loopback port (UDP off) in a temp dir.
 *
 * @example
 * ```ts
 * const mc = await startMemcached();
 * console.log(`${mc.host}:${mc.port}`);
 * await mc.stop();
 * ```
 */
export async function startMemcached(options: MemcachedOptions = {}): Promise<MemcachedServer> {
  const bin = options.bin ?? await findBinary("memcached");
  const saslpasswd2 = options.sasl ? await findBinary("saslpasswd2") : undefined;
  return await withRetries("memcached", async (dir) => {
    const socketPath = options.unixSocket ? path.join(dir, "memcached.sock") : undefined;
    const [port, tlsPort] = socketPath ? [0] : await freePorts(options.tls ? 2 : 1);
    const args = socketPath
      ? ["-s", socketPath, "-a", "0700"]
      : options.tls
      ? ["-l", `notls:127.0.0.1:${port}`, "-l", `127.0.0.1:${tlsPort}`, "-U", "0"]
      : ["-l", "127.0.0.1", "-p", `${port}`, "-U", "0"];
    if (process.getuid?.() === 0) args.push("-u", "root");
    if (options.tls) {
      args.push(
        "-Z",
        "-o",
        `ssl_chain_cert=${options.tls.certFile},ssl_key=${options.tls.keyFile}`,
      );
    }
    const env: Record<string, string> = {};
    if (options.sasl && saslpasswd2) {
      const db = path.join(dir, "sasldb2");
      fs.writeFileSync(path.join(dir, "memcached.conf"), `mech_list: plain\nsasldb_path: ${db}\n`);
      await saslPassword(saslpasswd2, db, options.sasl.username, options.sasl.password);
      env.SASL_CONF_PATH = dir;
      args.push("-S", "-B", "binary");
    }
    args.push(...options.args ?? []);
    const target = socketPath ? { path: socketPath } : { host: "127.0.0.1", port };
    // With SASL only the binary protocol is served: probe with a binary VERSION request.
    const request = options.sasl ? binaryVersionRequest() : "version\r\n";
    const proc = await launch({
      kind: "memcached",
      bin,
      args,
      dir,
      env,
      timeoutMs: options.timeoutMs ?? 20_000,
      ready: () =>
        probe(
          target,
          request,
          (t) => options.sasl ? /\d+\.\d+/.test(t) : /^VERSION .*\r\n/.test(t),
        ),
    });
    return makeHandle<MemcachedServer>(proc, {
      kind: "memcached",
      port,
      ...(socketPath ? { socketPath } : {}),
      ...(tlsPort ? { tlsPort } : {}),
    });
  });
}

function binaryVersionRequest(): Uint8Array {
  const header = new Uint8Array(24);
  header[0] = 0x80; // request magic
  header[1] = 0x0b; // VERSION
  return header;
}

/** Creates a sasldb holding one user with saslpasswd2 (password on stdin, never argv). */
function saslPassword(bin: string, db: string, username: string, password: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const child = spawn(bin, ["-a", "memcached", "-c", "-p", "-f", db, username], {
      stdio: ["pipe", "ignore", "pipe"],
    });
    let err = "";
    child.stderr?.on("data", (c: Uint8Array) => (err += new TextDecoder().decode(c)));
    child.once("error", reject);
    child.once("close", (code) => {
      if (code === 0) resolve();
      else reject(new Error(`saslpasswd2 exited with code ${code}: ${err}`));
    });
    child.stdin?.end(password);
  });
}

/**
 * Starts a single-member `etcd` (v3.4 flags) with its data dir in a temp dir; ready once
 * `/health` reports true (a leader is elected).
 *
 * @example
 * ```ts
 * const etcd = await startEtcd({ enableV2: true });
 * console.log(etcd.url); // http://127.0.0.1:PORT
 * await etcd.stop();
 * ```
 */
export async function startEtcd(options: EtcdOptions = {}): Promise<EtcdServer> {
  const bin = options.bin ?? await findBinary("etcd");
  return await withRetries("etcd", async (dir) => {
    const [port, peerPort, metricsPort] = await freePorts(3);
    const tls = options.tls;
    const url = `${tls ? "https" : "http"}://127.0.0.1:${port}`;
    const peer = `http://127.0.0.1:${peerPort}`;
    const metricsUrl = `http://127.0.0.1:${metricsPort}`;
    const args = [
      "--name=kvwire",
      `--data-dir=${path.join(dir, "data")}`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-metrics-urls=${metricsUrl}`,
      ...(tls ? [`--cert-file=${tls.certFile}`, `--key-file=${tls.keyFile}`] : []),
      ...(tls?.clientCertAuth ? ["--client-cert-auth", `--trusted-ca-file=${tls.caFile}`] : []),
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=kvwire=${peer}`,
      "--initial-cluster-state=new",
      `--initial-cluster-token=kvwire-${path.basename(dir)}`,
      `--enable-v2=${options.enableV2 ?? true}`,
      "--heartbeat-interval=10",
      "--election-timeout=100",
      "--logger=zap",
      "--log-outputs=stderr",
      ...options.args ?? [],
    ];
    const env: Record<string, string> = process.arch === "x64"
      ? {}
      : { ETCD_UNSUPPORTED_ARCH: process.arch };
    // The metrics listener is plain HTTP whatever the client listener speaks.
    const request =
      `GET /health HTTP/1.1\r\nHost: 127.0.0.1:${metricsPort}\r\nConnection: close\r\n\r\n`;
    const proc = await launch({
      kind: "etcd",
      bin,
      args,
      dir,
      env,
      timeoutMs: options.timeoutMs ?? 20_000,
      ready: () =>
        probe(
          { host: "127.0.0.1", port: metricsPort },
          request,
          (t) => t.includes(`"health":"true"`),
        ),
    });
    return makeHandle<EtcdServer>(proc, { kind: "etcd", port, url, peerPort });
  });
}

/** A running multi-member etcd cluster. */
export interface EtcdCluster {
  readonly members: EtcdServer[];
  /** `host:port` of every member's client URL. */
  readonly endpoints: string[];
  /** Stops every member; idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts a `size`-member etcd cluster (v3.4 flags) on free loopback ports, each member in its
 * own temp dir; ready once every member reports `/health` true. Stop one member with
 * `members[i].stop()` to test failover.
 *
 * @example
 * ```ts
 * const cluster = await startEtcdCluster(3);
 * console.log(cluster.endpoints); // ["127.0.0.1:P1", "127.0.0.1:P2", "127.0.0.1:P3"]
 * await cluster.stop();
 * ```
 */
export async function startEtcdCluster(
  size = 3,
  options: Omit<EtcdOptions, "tls"> = {},
): Promise<EtcdCluster> {
  const bin = options.bin ?? await findBinary("etcd");
  for (let attempt = 1;; attempt++) {
    const ports = await freePorts(size * 2);
    const dirs = await Promise.all(Array.from({ length: size }, () => tempDir("etcd")));
    const names = dirs.map((_, i) => `m${i}`);
    const peer = (i: number): string => `http://127.0.0.1:${ports[size + i]}`;
    const initial = names.map((n, i) => `${n}=${peer(i)}`).join(",");
    const token = `kvwire-cluster-${path.basename(dirs[0])}`;
    const env: Record<string, string> = process.arch === "x64"
      ? {}
      : { ETCD_UNSUPPORTED_ARCH: process.arch };
    const results = await Promise.allSettled(dirs.map((dir, i) => {
      const port = ports[i];
      const url = `http://127.0.0.1:${port}`;
      const request =
        `GET /health HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`;
      return launch({
        kind: "etcd",
        bin,
        dir,
        env,
        timeoutMs: options.timeoutMs ?? 30_000,
        args: [
          `--name=${names[i]}`,
          `--data-dir=${path.join(dir, "data")}`,
          `--listen-client-urls=${url}`,
          `--advertise-client-urls=${url}`,
          `--listen-peer-urls=${peer(i)}`,
          `--initial-advertise-peer-urls=${peer(i)}`,
          `--initial-cluster=${initial}`,
          "--initial-cluster-state=new",
          `--initial-cluster-token=${token}`,
          `--enable-v2=${options.enableV2 ?? true}`,
          "--heartbeat-interval=50",
          "--election-timeout=500",
          "--logger=zap",
          "--log-outputs=stderr",
          ...options.args ?? [],
        ],
        ready: () =>
          probe({ host: "127.0.0.1", port }, request, (t) => t.includes(`"health":"true"`)),
      }).then((proc) =>
        makeHandle<EtcdServer>(proc, { kind: "etcd", port, url, peerPort: ports[size + i] })
      );
    }));
    const members = results.flatMap((r) => r.status === "fulfilled" ? [r.value] : []);
    const failed = results.find((r) => r.status === "rejected");
    if (!failed) {
      let stopping: Promise<void> | undefined;
      return {
        members,
        endpoints: members.map((m) => `${m.host}:${m.port}`),
        stop: () => (stopping ??= Promise.all(members.map((m) => m.stop())).then(() => {})),
      };
    }
    await Promise.all(members.map((m) => m.stop()));
    await Promise.all(dirs.map((d) => dropDir(d)));
    if (!(failed.reason instanceof PortTakenError) || attempt >= 5) throw failed.reason;
  }
}

/** A running Sentinel set: one master, its replicas and the sentinels monitoring it. */
export interface SentinelSet {
  /** The name the sentinels monitor the master under. */
  readonly masterName: string;
  /** The master it started with (after a failover, ask the sentinels). */
  readonly master: RedisServer;
  readonly replicas: RedisServer[];
  readonly sentinels: RedisServer[];
  /** `host:port` of every sentinel. */
  readonly sentinelAddresses: string[];
  /** Stops every process; idempotent. */
  stop(): Promise<void>;
}

/** Options of {@linkcode startSentinelSet}. */
export interface SentinelSetOptions {
  /** Default `mymaster`. */
  masterName?: string;
  /** Default 2. */
  replicas?: number;
  /** Default 3. */
  sentinels?: number;
  /** Sentinels that must agree the master is down. Default 2. */
  quorum?: number;
  /** `down-after-milliseconds`. Default 500. */
  downAfterMs?: number;
  /** `failover-timeout`. Default 3000. */
  failoverTimeoutMs?: number;
  /** `requirepass` of the sentinels (and `sentinel sentinel-pass` between them). */
  sentinelPassword?: string;
  /** How long to wait for every process and for the sentinels to know each other; 30000 ms. */
  timeoutMs?: number;
}

/**
 * Starts a Sentinel set on free loopback ports, each process in its own temp dir: a master, its
 * replicas (`--replicaof`), and sentinels (`redis-server <conf> --sentinel`, generated config).
 * Ready once every sentinel reports every replica and every other sentinel.
 *
 * @example
 * ```ts
 * const set = await startSentinelSet();
 * console.log(set.sentinelAddresses); // ["127.0.0.1:P1", "127.0.0.1:P2", "127.0.0.1:P3"]
 * await set.stop();
 * ```
 */
export async function startSentinelSet(options: SentinelSetOptions = {}): Promise<SentinelSet> {
  const name = options.masterName ?? "mymaster";
  const timeoutMs = options.timeoutMs ?? 30_000;
  const replicaCount = options.replicas ?? 2;
  const sentinelCount = options.sentinels ?? 3;
  const started: RedisServer[] = [];
  const stopAll = (): Promise<void> => Promise.all(started.map((s) => s.stop())).then(() => {});
  try {
    const master = await startRedis({ timeoutMs });
    started.push(master);
    const replicas = await Promise.all(
      Array.from(
        { length: replicaCount },
        () => startRedis({ timeoutMs, args: ["--replicaof", "127.0.0.1", `${master.port}`] }),
      ),
    );
    started.push(...replicas);
    await waitFor(
      timeoutMs,
      "the replicas to sync",
      () =>
        Promise.all(
          replicas.map((r) =>
            probe(
              r,
              redisCommand("INFO", "replication"),
              (t) => t.includes("master_link_status:up"),
            )
          ),
        ).then((all) => all.every(Boolean)),
    );
    const sentinels = await Promise.all(
      Array.from({ length: sentinelCount }, () => startSentinel(name, master.port, options)),
    );
    started.push(...sentinels);
    const auth = options.sentinelPassword === undefined
      ? ""
      : redisCommand("AUTH", options.sentinelPassword);
    // The reply (after AUTH's +OK) is an array of `n` entries.
    const counted = (n: number) => (t: string): boolean =>
      t.replace(/^\+OK\r\n/, "").startsWith(`*${n}\r\n`);
    await waitFor(
      timeoutMs,
      "the sentinels to know each other and the replicas",
      () =>
        Promise.all(sentinels.flatMap((s) => [
          probe(s, auth + redisCommand("SENTINEL", "REPLICAS", name), counted(replicaCount)),
          probe(
            s,
            auth + redisCommand("SENTINEL", "SENTINELS", name),
            counted(sentinelCount - 1),
          ),
        ])).then((all) => all.every(Boolean)),
    );
    let stopping: Promise<void> | undefined;
    return {
      masterName: name,
      master,
      replicas,
      sentinels,
      sentinelAddresses: sentinels.map((s) => `${s.host}:${s.port}`),
      stop: () => (stopping ??= stopAll()),
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

async function startSentinel(
  name: string,
  masterPort: number,
  options: SentinelSetOptions,
): Promise<RedisServer> {
  const bin = await findBinary("redis-server");
  return await withRetries("redis", async (dir) => {
    const [port] = await freePorts(1);
    const lines = [
      `port ${port}`,
      "bind 127.0.0.1",
      `dir ${dir}`,
      `sentinel monitor ${name} 127.0.0.1 ${masterPort} ${options.quorum ?? 2}`,
      `sentinel down-after-milliseconds ${name} ${options.downAfterMs ?? 500}`,
      `sentinel failover-timeout ${name} ${options.failoverTimeoutMs ?? 3000}`,
      `sentinel parallel-syncs ${name} 1`,
    ];
    if (options.sentinelPassword !== undefined) {
      lines.push(`requirepass ${options.sentinelPassword}`);
      lines.push(`sentinel sentinel-pass ${options.sentinelPassword}`);
    }
    // Sentinel rewrites its config file, so it lives in the sentinel's own dir.
    const conf = path.join(dir, "sentinel.conf");
    await fs.promises.writeFile(conf, lines.join("\n") + "\n");
    const request = (options.sentinelPassword === undefined
      ? ""
      : redisCommand("AUTH", options.sentinelPassword)) + "PING\r\n";
    const proc = await launch({
      kind: "redis",
      bin,
      args: [conf, "--sentinel"],
      dir,
      timeoutMs: options.timeoutMs ?? 30_000,
      ready: () =>
        probe({ host: "127.0.0.1", port }, request, (t) => t.endsWith("+PONG\r\n")),
    });
    return makeHandle<RedisServer>(proc, { kind: "redis", port });
  });
}

/** Polls `ready` every 100 ms until it resolves true; throws after `timeoutMs`. */
async function waitFor(
  timeoutMs: number,
  what: string,
  ready: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready())) {
    if (Date.now() >= deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Starts one server of each kind given, in parallel, with default options; if one fails the
 * others are stopped and the error is thrown.
 *
 * @example
 * ```ts
 * const servers = await startServers(["redis", "etcd"]);
 * await Promise.all(servers.map((s) => s.stop()));
 * ```
 */
export async function startServers(kinds: readonly ServerKind[]): Promise<ServerHandle[]> {
  const start: Record<ServerKind, () => Promise<ServerHandle>> = {
    redis: () => startRedis(),
    memcached: () => startMemcached(),
    etcd: () => startEtcd(),
  };
  const unknown = kinds.find((kind) => !Object.hasOwn(start, kind));
  if (unknown !== undefined) throw new TypeError(`Unknown server kind "${unknown}"`);
  const results = await Promise.allSettled(kinds.map((kind) => start[kind]()));
  const failed = results.find((r) => r.status === "rejected");
  const started = results.flatMap((r) => r.status === "fulfilled" ? [r.value] : []);
  if (failed) {
    await Promise.all(started.map((s) => s.stop()));
    throw failed.reason;
  }
  return started;
}

/**
 * Writes a test CA and a certificate it signed for `127.0.0.1`/`localhost`, with its key, into
 * `dir` with the openssl CLI.
 *
 * @example
 * ```ts
 * const files = await createTlsFiles(dir);
 * const redis = await startRedis({ tls: files });
 * ```
 */
export async function createTlsFiles(dir: string): Promise<TlsFiles> {
  const openssl = await findBinary("openssl");
  const file = (name: string): string => path.join(dir, name);
  const ssl = (args: string[]): Promise<void> => run(openssl, args);
  // A CA and a leaf signed by it: rustls (Deno) refuses a self-signed end-entity certificate.
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await ssl(["req", "-x509", ...ec, "-days", "2", "-subj", "/CN=kvwire test CA"].concat(
    ["-keyout", file("ca-key.pem"), "-out", file("ca.pem")],
  ));
  await ssl(["req", ...ec, "-subj", "/CN=localhost", "-keyout", file("key.pem")].concat(
    ["-out", file("csr.pem")],
  ));
  fs.writeFileSync(file("ext.cnf"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  await ssl(["x509", "-req", "-in", file("csr.pem"), "-CA", file("ca.pem")].concat([
    "-CAkey",
    file("ca-key.pem"),
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    file("ext.cnf"),
    "-out",
    file("cert.pem"),
  ]));
  return { certFile: file("cert.pem"), keyFile: file("key.pem"), caFile: file("ca.pem") };
}

function isMain(): boolean {
  const meta = import.meta as ImportMeta & { main?: boolean };
  if (typeof meta.main === "boolean") return meta.main;
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return import.meta.url === pathToFileURL(fs.realpathSync(entry)).href;
  } catch {
    return false;
  }
}

async function main(argv: string[]): Promise<number> {
  const all = argv.length > 0 ? argv : ["redis", "memcached", "etcd"];
  const bad = all.filter((k) => !["redis", "memcached", "etcd", "redis-cluster"].includes(k));
  if (bad.length > 0) {
    console.error(
      `Unknown server kind "${bad[0]}"\nUsage: servers.ts [redis|memcached|etcd|redis-cluster]...`,
    );
    return 2;
  }
  const kinds = all.filter((k) => k !== "redis-cluster");
  let servers: ServerHandle[];
  let cluster: RedisClusterServers | undefined;
  try {
    if (all.includes("redis-cluster")) cluster = await startRedisCluster();
    servers = await startServers(kinds as ServerKind[]);
  } catch (error) {
    await cluster?.stop();
    console.error(error instanceof Error ? error.message : error);
    return 1;
  }
  // Listeners stay until exit: a repeated signal while stopping must not kill us half way.
  const signal = new Promise<string>((resolve) => {
    process.on("SIGINT", () => resolve("SIGINT"));
    process.on("SIGTERM", () => resolve("SIGTERM"));
  });
  const keepAlive = setInterval(() => {}, 1 << 30);
  for (const s of servers) console.log(`${s.kind} ${s.host}:${s.port}`);
  for (const s of servers) console.log(`export KVWIRE_${s.kind.toUpperCase()}=${s.host}:${s.port}`);
  if (cluster) console.log(`export KVWIRE_REDIS_CLUSTER=${cluster.endpoints.join(",")}`);
  console.error("# servers are up; stop with Ctrl-C (SIGINT) or SIGTERM");
  const received = await signal;
  clearInterval(keepAlive);
  console.error(`# ${received}: stopping`);
  await Promise.all([...servers.map((s) => s.stop()), cluster?.stop()]);
  console.error("# stopped");
  return 0;
}

if (isMain()) {
  process.exit(await main(process.argv.slice(2)));
}
