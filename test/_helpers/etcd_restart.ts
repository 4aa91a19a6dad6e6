// etcd processes of the harness that tests kill (SIGKILL) and start again on their data dir, and
// the member of a cluster that leads it. A restarted process is owned by its handle's `stop()`.

import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from "node:fs";
import process from "node:process";
import type { EtcdCluster, EtcdServer } from "../../scripts/servers.ts";
import { EtcdClient } from "../../src/etcd/client.ts";
import { eventually } from "./process_state.ts";

/** An etcd that a test kills and restarts; see {@link restartable}. */
export interface Restartable {
  /** The pid of the etcd process running now (the harness's, or the restarted one). */
  readonly pid: number;
  /** SIGKILLs etcd (its data dir stays) and resolves once the process is gone. */
  kill(): Promise<void>;
  /** Starts etcd again with the same arguments; resolves once its client URL reports healthy. */
  restart(): Promise<void>;
  /** Kills etcd if it runs, then stops the server with its harness handle. */
  stop(): Promise<void>;
}

/** True once `pid` has exited (gone, or a zombie waiting to be reaped). */
function exited(pid: number): boolean {
  const stat = `/proc/${pid}/stat`;
  return !existsSync(stat) || /^\S+ \(.*\) Z /.test(readFileSync(stat, "utf8"));
}

/**
 * Wraps a server (or a cluster member) of `scripts/servers.ts`: `kill()` SIGKILLs its etcd,
 * `restart()` starts it again on its data with the arguments it ran with, logging to its log
 * file. The restarted pid goes to the harness's pid file, so that a process exiting without
 * `stop()` still kills it.
 *
 * @example
 * ```ts
 * const server = restartable(await startEtcd());
 * await server.kill();
 * await server.restart();
 * await server.stop();
 * ```
 */
export function restartable(server: EtcdServer): Restartable {
  const pidFile = `${server.dir}/etcd.pid`;
  let pid = Number(readFileSync(pidFile, "utf8").trim());
  const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter((a) => a);
  const kill = async (): Promise<void> => {
    if (exited(pid)) return;
    process.kill(pid, "SIGKILL");
    await eventually(`etcd ${pid} to exit`, () => exited(pid));
  };
  return {
    get pid() {
      return pid;
    },
    kill,
    restart: async () => {
      const log = openSync(server.logFile, "a");
      const child = spawn(argv[0], argv.slice(1), {
        cwd: server.dir,
        stdio: ["ignore", log, log],
      });
      closeSync(log);
      child.unref();
      pid = child.pid!;
      writeFileSync(pidFile, String(pid));
      const health = `http://${server.host}:${server.port}/health`;
      await eventually(`etcd ${pid} to be healthy again`, async () => {
        if (exited(pid)) throw new Error(`the restarted etcd exited; see ${server.logFile}`);
        const answer = await fetch(health).then((r) => r.text(), () => "");
        return answer.includes(`"health":"true"`);
      });
    },
    stop: async () => {
      await kill();
      await server.stop();
    },
  };
}

/**
 * The member that leads `cluster` now: its index in `cluster.members`, its id, and the term.
 *
 * @example
 * ```ts
 * const cluster = await startEtcdCluster(3);
 * const { index } = await clusterLeader(cluster);
 * await cluster.members[index].stop();
 * ```
 */
export async function clusterLeader(
  cluster: EtcdCluster,
): Promise<{ index: number; id: bigint; term: bigint }> {
  await using probe = new EtcdClient({ endpoints: cluster.endpoints });
  const { leader, raftTerm } = await probe.status();
  const member = (await probe.members()).find((m) => m.id === leader);
  const index = cluster.members.findIndex((m) =>
    member?.clientUrls.includes(`http://${m.host}:${m.port}`)
  );
  if (index < 0) throw new Error(`no member of the cluster leads it (leader ${leader})`);
  return { index, id: leader, term: raftTerm };
}
