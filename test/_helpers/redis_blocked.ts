// Synchronisation for tests of blocking Redis commands: wait, by round trips to the server,
// until some connection is blocked in a given command (blocking commands run on pooled
// connections, so a client id would not find them).
import type { RedisClient } from "../../src/redis/client.ts";

/**
 * Resolves once CLIENT LIST shows a connection blocked (flag `b`) in `command`. Callers make
 * sure no other test blocks in the same command at the same time.
 */
export async function waitUntilBlocked(
  observer: RedisClient<unknown>,
  command: string,
): Promise<void> {
  const blocked = new RegExp(` flags=\\w*b\\w* .* cmd=${command.toLowerCase()}( |$)`, "m");
  for (let i = 0; i < 10_000; i++) {
    const list = await observer.send("CLIENT", "LIST");
    const text = list instanceof Uint8Array ? new TextDecoder().decode(list) : String(list);
    if (blocked.test(text)) return;
  }
  throw new Error(`No connection ever blocked in ${command}`);
}
