// A redis-server process owned by one test: its pid for kill -9 / SIGSTOP / SIGCONT, and a
// restart on the same port and data dir (append-only file on, so executed writes survive).

import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import process from "node:process";
import { findBinary, freePorts } from "../../scripts/servers.ts";

/** A redis-server the test can kill, freeze and restart. */
export interface RedisProcess {
  readonly host: "127.0.0.1";
  readonly port: number;
  /** The current server process. */
  readonly pid: number;
  /** Sends a signal to the current server process. */
  signal(name: "SIGKILL" | "SIGSTOP" | "SIGCONT"): void;
  /** Starts a new server on the same port and dir (after a kill) and waits until it answers. */
  restart(): Promise<void>;
  /** Kills the server and removes its dir. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
let exitHook = false;

/** Resolves once a PING on `port` gets PONG; retries refused connects for up to 10 s. */
async function waitForPong(port: number): Promise<void> {
  const giveUp = performance.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: "127.0.0.1", port });
      let text = "";
      socket.setEncoding("utf8");
      socket.once("connect", () => socket.write("PING\r\n"));
      socket.on("data", (chunk: string) => {
        text += chunk;
        if (text.includes("\r\n")) {
          socket.destroy();
          resolve(text.startsWith("+PONG"));
        }
      });
      socket.once("error", () => resolve(false));
      socket.once("close", () => resolve(false));
    });
    if (ok) return;
    if (performance.now() > giveUp) throw new Error(`redis-server on ${port} never answered`);
    await new Promise((resolve) => setTimeout(resolve, 20)); // retry delay of a refused connect
  }
}

/**
 * Starts a redis-server (append-only file on, debug commands allowed from loopback) on a free
 * port in a temp dir.
 *
 * @example
 * ```ts
 * const server = await startRedisProcess();
 * server.signal("SIGSTOP");
 * server.signal("SIGCONT");
 * await server.stop();
 * ```
 */
export async function startRedisProcess(extraArgs: string[] = []): Promise<RedisProcess> {
  const bin = await findBinary("redis-server");
  const [port] = await freePorts(1);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kvwire-redis-proc-"));
  const args = ["--port", `${port}`, "--bind", "127.0.0.1", "--save", "", "--dir", dir];
  args.push("--appendonly", "yes", "--enable-debug-command", "local", ...extraArgs);
  if (!exitHook) {
    exitHook = true;
    process.on("exit", () => {
      for (const child of running) child.kill("SIGKILL");
    });
  }
  let child: ChildProcess;
  const launch = async (): Promise<void> => {
    child = spawn(bin, args, { stdio: "ignore" });
    running.add(child);
    const current = child;
    current.once("exit", () => running.delete(current));
    await waitForPong(port);
  };
  await launch();
  return {
    host: "127.0.0.1",
    port,
    get pid(): number {
      return child.pid!;
    },
    signal(name) {
      process.kill(child.pid!, name);
    },
    async restart() {
      if (child.exitCode === null && child.signalCode === null) {
        await new Promise((resolve) => child.once("exit", resolve));
      }
      await launch();
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGKILL");
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
