// Parsing of the INFO reply into typed sections, as redis-py does: numbers become numbers,
// `k=v,k=v` values (keyspace, commandstats) become objects.
// Spec: https://redis.io/docs/latest/commands/info/

/** One INFO field: a number, text, or a `k=v,...` record. */
export type InfoValue = string | number | Record<string, string | number>;

/** INFO as nested sections: `info.server.redis_version`, `info.keyspace.db0.keys`. */
export type RedisInfo = Record<string, Record<string, InfoValue>>;

function scalar(text: string): string | number {
  if (/^-?\d+(\.\d+)?$/.test(text)) {
    const n = Number(text);
    if (Number.isSafeInteger(n) || text.includes(".")) return n;
  }
  return text;
}

/**
 * Parses the text of an INFO reply. Section names are lower-cased (`# Server` → `server`).
 *
 * @example
 * ```ts
 * import { parseInfo } from "@kvwire/kvwire/redis";
 * const info = parseInfo("# Server\r\nredis_version:7.0.15\r\n# Keyspace\r\ndb0:keys=2,expires=0\r\n");
 * info.server.redis_version; // "7.0.15"
 * info.keyspace.db0; // { keys: 2, expires: 0 }
 * ```
 */
export function parseInfo(text: string): RedisInfo {
  const info: RedisInfo = {};
  let section: Record<string, InfoValue> = {};
  info.default = section;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line) continue;
    if (line.startsWith("#")) {
      section = {};
      info[line.slice(1).trim().toLowerCase()] = section;
      continue;
    }
    const colon = line.indexOf(":");
    if (colon === -1) continue;
    const key = line.slice(0, colon);
    const value = line.slice(colon + 1);
    section[key] = isRecord(key, value) ? parseRecord(value) : scalar(value);
  }
  if (Object.keys(info.default).length === 0) delete info.default;
  return info;
}

function isRecord(key: string, value: string): boolean {
  return /^[a-z_]+=[^,]*(,[a-z_]+=[^,]*)*$/i.test(value) &&
    (/^db\d+$/.test(key) || key.startsWith("cmdstat_") || key.startsWith("errorstat_") ||
      key.startsWith("slave") || key.startsWith("latency_percentiles_usec_"));
}

function parseRecord(value: string): Record<string, string | number> {
  const record: Record<string, string | number> = {};
  for (const part of value.split(",")) {
    const eq = part.indexOf("=");
    record[part.slice(0, eq)] = scalar(part.slice(eq + 1));
  }
  return record;
}
