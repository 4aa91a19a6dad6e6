// Strict parsing of the hosts a tunnel may name (RFC 3986 host, RFC 4291/5952 IPv6, RFC 1123
// names). Only one spelling per address is accepted: no decimal, hex, octal or short IPv4 forms.

/** A parsed host: an IPv4 or IPv6 address (network-order bytes) or a lower-case DNS name. */
export type Host =
  | { readonly kind: "ipv4"; readonly bytes: Uint8Array; readonly text: string }
  | { readonly kind: "ipv6"; readonly bytes: Uint8Array; readonly text: string }
  | { readonly kind: "name"; readonly text: string };

/** A parsed `host:port` target. */
export interface Target {
  /** The host: an IP address or a name. */
  readonly host: Host;
  /** The TCP port, 1 to 65535. */
  readonly port: number;
}

/** Thrown for a host or target that is not in the one accepted spelling. */
export class HostSyntaxError extends TypeError {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "HostSyntaxError";
  }
}

const IPV4_PART = /^(0|[1-9][0-9]{0,2})$/;
const LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/;

/**
 * Parses a dotted-quad IPv4 address in its one canonical spelling (`127.0.0.1`, never `127.1`,
 * `0x7f.0.0.1`, `0177.0.0.1` or `2130706433`). Returns the four bytes, or undefined.
 *
 * @example
 * ```ts
 * import { parseIPv4 } from "@kvwire/kvwire/tunnel";
 * parseIPv4("127.0.0.1"); // Uint8Array [127, 0, 0, 1]
 * parseIPv4("127.1"); // undefined
 * ```
 */
export function parseIPv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!IPV4_PART.test(parts[i])) return undefined;
    const value = Number(parts[i]);
    if (value > 255) return undefined;
    bytes[i] = value;
  }
  return bytes;
}

/**
 * Parses an IPv6 address without brackets (`::1`, `fd00::10`, `::ffff:127.0.0.1`). Zone ids
 * (`fe80::1%eth0`) are refused. Returns the sixteen bytes, or undefined.
 *
 * @example
 * ```ts
 * import { parseIPv6 } from "@kvwire/kvwire/tunnel";
 * parseIPv6("::1")?.[15]; // 1
 * parseIPv6("fe80::1%eth0"); // undefined
 * ```
 */
export function parseIPv6(text: string): Uint8Array | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (part: string): number[] | undefined => {
    if (part === "") return [];
    const out: number[] = [];
    const pieces = part.split(":");
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i];
      if (i === pieces.length - 1 && piece.includes(".")) {
        const v4 = parseIPv4(piece);
        if (!v4) return undefined;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(piece)) {
        out.push(parseInt(piece, 16));
      } else {
        return undefined;
      }
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return undefined;
  if (halves.length === 1 && head.length !== 8) return undefined;
  if (halves.length === 2 && head.length + tail.length > 7) return undefined;
  if (halves[0].includes(".") && halves.length === 2) return undefined; // v4 only at the end
  const all = [...head, ...new Array(8 - head.length - tail.length).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  all.forEach((group, i) => {
    bytes[i * 2] = group >> 8;
    bytes[i * 2 + 1] = group & 0xff;
  });
  return bytes;
}

/**
 * Formats IPv6 bytes in the canonical RFC 5952 form (lower case, longest zero run as `::`).
 *
 * @example
 * ```ts
 * import { formatIPv6, parseIPv6 } from "@kvwire/kvwire/tunnel";
 * formatIPv6(parseIPv6("0:0:0:0:0:0:0:1")!); // "::1"
 * ```
 */
export function formatIPv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i] << 8) | bytes[i + 1]);
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = (list: number[]): string => list.map((g) => g.toString(16)).join(":");
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}

/**
 * Whether a name would be read as an IPv4 address by URL parsers or `inet_aton` (its last
 * label is a number: `2130706433`, `0x7f000001`, `127.1`, `0177.0.0.1`). Such names are
 * refused unless they are the canonical dotted quad.
 */
function endsInNumber(name: string): boolean {
  const labels = name.split(".");
  if (labels[labels.length - 1] === "" && labels.length > 1) labels.pop();
  const last = labels[labels.length - 1];
  return /^[0-9]+$/.test(last) || /^0x[0-9a-f]*$/i.test(last);
}

/**
 * Parses a host in its single accepted spelling: a canonical dotted-quad IPv4 address, a
 * bracketed IPv6 address (`[::1]`), or a DNS name (lower-cased, one trailing dot dropped).
 * Throws {@link HostSyntaxError} for anything else, naming the offending text.
 *
 * @example
 * ```ts
 * import { parseHost } from "@kvwire/kvwire/tunnel";
 * parseHost("[::1]").kind; // "ipv6"
 * parseHost("Redis.Internal.").text; // "redis.internal"
 * ```
 */
export function parseHost(text: string): Host {
  if (text.startsWith("[")) {
    if (!text.endsWith("]")) throw new HostSyntaxError(`Invalid IPv6 host "${text}"`);
    const bytes = parseIPv6(text.slice(1, -1));
    if (!bytes) throw new HostSyntaxError(`Invalid IPv6 host "${text}"`);
    return { kind: "ipv6", bytes, text: formatIPv6(bytes) };
  }
  const v4 = parseIPv4(text);
  if (v4) return { kind: "ipv4", bytes: v4, text };
  if (text.includes(":")) {
    throw new HostSyntaxError(`IPv6 hosts must be in brackets, got "${text}"`);
  }
  let name = text.toLowerCase();
  if (name.endsWith(".")) name = name.slice(0, -1);
  if (endsInNumber(name)) {
    throw new HostSyntaxError(
      `"${text}" is not a canonical IPv4 address (write it as a dotted quad like 127.0.0.1)`,
    );
  }
  if (name.length === 0 || name.length > 253 || !name.split(".").every((l) => LABEL.test(l))) {
    throw new HostSyntaxError(`Invalid host name "${text}"`);
  }
  return { kind: "name", text: name };
}

/**
 * Parses `host:port` (`127.0.0.1:6379`, `[::1]:6379`, `redis.internal:6379`) strictly.
 *
 * @example
 * ```ts
 * import { parseTarget } from "@kvwire/kvwire/tunnel";
 * parseTarget("[::1]:6379").port; // 6379
 * ```
 */
export function parseTarget(text: string): Target {
  const colon = text.lastIndexOf(":");
  if (colon <= 0) throw new HostSyntaxError(`Expected "host:port", got "${text}"`);
  const portText = text.slice(colon + 1);
  const port = Number(portText);
  if (!/^[1-9][0-9]{0,4}$/.test(portText) || port > 65535) {
    throw new HostSyntaxError(`Invalid port in "${text}"`);
  }
  return { host: parseHost(text.slice(0, colon)), port };
}

/**
 * Formats a target for messages and logs: `host:port` or `[v6]:port`.
 *
 * @example
 * ```ts
 * import { formatTarget, parseTarget } from "@kvwire/kvwire/tunnel";
 * formatTarget(parseTarget("[0::1]:80")); // "[::1]:80"
 * ```
 */
export function formatTarget(target: Target): string {
  const host = target.host.kind === "ipv6" ? `[${target.host.text}]` : target.host.text;
  return `${host}:${target.port}`;
}

/**
 * Parses an IP address as a runtime's resolver prints it (`127.0.0.1`, `::1`, no brackets).
 *
 * @example
 * ```ts
 * import { parseIP } from "@kvwire/kvwire/tunnel";
 * parseIP("::1")?.kind; // "ipv6"
 * ```
 */
export function parseIP(text: string): Host | undefined {
  const v4 = parseIPv4(text);
  if (v4) return { kind: "ipv4", bytes: v4, text };
  const v6 = parseIPv6(text);
  return v6 ? { kind: "ipv6", bytes: v6, text: formatIPv6(v6) } : undefined;
}
