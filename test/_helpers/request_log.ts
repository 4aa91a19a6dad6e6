// A connector that wraps the default one and records the path of every HTTP/1.1 request the
// client writes (and the text written, under TLS too), so tests can tell how many requests a
// call made (read coalescing, retries) and what they carried.

import { defaultConnect } from "../../src/core/default_connect.ts";
import type { Connect, Transport } from "../../src/core/transport.ts";

const REQUEST_LINE = /(?:GET|POST|PUT|DELETE) (\/\S*) HTTP\/1\.1\r\n/g;

/**
 * A `connect` option recording request paths in `paths`, in the order they were written, and
 * every chunk written as text in `written`.
 *
 * @example
 * ```ts
 * const log = requestLog();
 * const etcd = new EtcdClient({ endpoints: [endpoint], connect: log.connect });
 * await etcd.get("k");
 * log.paths; // ["/v3/kv/range"]
 * ```
 */
export function requestLog(): {
  connect: Connect;
  paths: string[];
  written: string[];
  take: () => string[];
} {
  const paths: string[] = [];
  const written: string[] = [];
  const connect: Connect = async (address, options) => {
    const t = await defaultConnect(address, options);
    const wrapped: Transport = {
      read: () => t.read(),
      write: (chunk) => {
        const text = new TextDecoder().decode(chunk);
        written.push(text);
        for (const match of text.matchAll(REQUEST_LINE)) paths.push(match[1]);
        return t.write(chunk);
      },
      ready: () => t.ready(),
      get bufferedAmount() {
        return t.bufferedAmount;
      },
      end: () => t.end(),
      close: (reason) => t.close(reason),
      closed: t.closed,
      info: t.info,
    };
    return wrapped;
  };
  /** The paths recorded since the last call, sorted. */
  const take = (): string[] => paths.splice(0).sort();
  return { connect, paths, written, take };
}
