// Runs a Python script with Debian's /usr/bin/python3 (which has python-memcached and pylibmc),
// JSON in on stdin, JSON out on stdout; for the interop tests against the reference clients.
import { spawn } from "node:child_process";

/** The interpreter with the reference clients (a pyenv `python3` on PATH lacks them). */
export const PYTHON = "/usr/bin/python3";

/**
 * Runs `script` with `input` as JSON on stdin and resolves with its stdout parsed as JSON;
 * rejects with its stderr when it exits non-zero.
 *
 * @example
 * ```ts
 * await runPython("import json,sys; print(json.dumps(json.load(sys.stdin)))", [1]); // [1]
 * ```
 */
export function runPython<T>(script: string, input: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ["-c", script], { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) {
        reject(new Error(`python exited ${code}: ${Buffer.concat(err).toString()}`));
        return;
      }
      try {
        resolve(JSON.parse(Buffer.concat(out).toString()) as T);
      } catch (error) {
        reject(error);
      }
    });
    child.stdin.end(JSON.stringify(input));
  });
}
