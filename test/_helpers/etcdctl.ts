// Runs the real etcdctl (v3 API) against one endpoint: the cross-check the etcd tests use for
// what kvwire wrote or read. Resolves with stdout; rejects with etcdctl's stderr.
import { execFile } from "node:child_process";

/**
 * `etcdctl --endpoints=http://<endpoint> <args…>`.
 *
 * @example
 * ```ts
 * const value = await etcdctl("127.0.0.1:2379", "get", "--print-value-only", "k");
 * ```
 */
export function etcdctl(endpoint: string, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      "etcdctl",
      [`--endpoints=http://${endpoint}`, ...args],
      { env: { ETCDCTL_API: "3", PATH: "/usr/bin:/bin:/usr/local/bin" } },
      (
        error,
        stdout,
        stderr,
      ) => (error ? reject(new Error(stderr || error.message)) : resolve(stdout)),
    );
  });
}
