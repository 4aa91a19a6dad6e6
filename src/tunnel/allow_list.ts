// The tunnel relay's allow-list: which `host:port` targets may be dialled. Entries are exact
// names, `*.suffix` wildcards, IPs and CIDR ranges, each with a port, a port range or `*`.

import {
  formatIPv6,
  type Host,
  HostSyntaxError,
  parseHost,
  parseIPv4,
  parseIPv6,
  type Target,
} from "./host.ts";

/** One parsed allow-list entry. */
export interface AllowEntry {
  /** The entry as written. */
  readonly text: string;
  /** `name` (exact), `wildcard` (`*.suffix`, subdomains only) or `cidr` (an IP is a /32 or /128). */
  readonly kind: "name" | "wildcard" | "cidr";
  /** Lower-case name, or the suffix of a wildcard (without `*.`). */
  readonly name?: string;
  /** Network bytes of a CIDR entry (4 or 16). */
  readonly network?: Uint8Array;
  /** Prefix length of a CIDR entry. */
  readonly prefix?: number;
  /** Lowest port allowed. */
  readonly portMin: number;
  /** Highest port allowed. */
  readonly portMax: number;
}

/** A special-purpose IP range: refused unless an entry names an address inside it. */
export interface SpecialRange {
  /** The range's network bytes (4 or 16). */
  readonly network: Uint8Array;
  /** The range's prefix length. */
  readonly prefix: number;
  /** Why addresses in the range are refused by default. */
  readonly why: string;
}

const V4_SPECIAL: [string, number, string][] = [
  ["0.0.0.0", 8, "a 'this network' address (0.0.0.0 reaches the relay host itself)"],
  ["169.254.0.0", 16, "a link-local address (cloud metadata services live here)"],
  ["100.100.100.200", 32, "a cloud metadata address"],
  ["192.0.0.0", 24, "an IETF protocol assignment address"],
  ["224.0.0.0", 4, "a multicast address"],
  ["240.0.0.0", 4, "a reserved or broadcast address"],
];

const V6_SPECIAL: [string, number, string][] = [
  ["::", 128, "the unspecified address"],
  ["fe80::", 10, "a link-local address"],
  ["fec0::", 10, "a site-local address"],
  ["ff00::", 8, "a multicast address"],
  ["fd00:ec2::254", 128, "a cloud metadata address"],
];

function ipBytes(ip: string): Uint8Array {
  return (parseIPv4(ip) ?? parseIPv6(ip))!;
}

/** Whether `bytes` lies in `network/prefix` (same family). */
function contains(network: Uint8Array, prefix: number, bytes: Uint8Array): boolean {
  if (network.length !== bytes.length) return false;
  for (let bit = 0; bit < prefix; bit += 8) {
    const bits = Math.min(8, prefix - bit);
    const mask = (0xff << (8 - bits)) & 0xff;
    if ((network[bit >> 3] & mask) !== (bytes[bit >> 3] & mask)) return false;
  }
  return true;
}

/**
 * The special-purpose range an IP address falls in (link-local, metadata, unspecified,
 * multicast, reserved), or undefined for an ordinary address. IPv4-mapped (`::ffff:a.b.c.d`)
 * and NAT64 (`64:ff9b::a.b.c.d`) addresses are judged by the IPv4 address they carry, and the
 * deprecated IPv4-compatible form (`::a.b.c.d`) is always special.
 *
 * @example
 * ```ts
 * import { parseIP, specialRange } from "@kvwire/kvwire/tunnel";
 * specialRange(parseIP("169.254.169.254")!)?.why; // "a link-local address (...)"
 * specialRange(parseIP("127.0.0.1")!); // undefined
 * ```
 */
export function specialRange(ip: Host): SpecialRange | undefined {
  if (ip.kind === "name") return undefined;
  const b = ip.bytes;
  if (ip.kind === "ipv4") {
    for (const [net, prefix, why] of V4_SPECIAL) {
      const network = ipBytes(net);
      if (contains(network, prefix, b)) return { network, prefix, why };
    }
    return undefined;
  }
  for (const [net, prefix, why] of V6_SPECIAL) {
    const network = ipBytes(net);
    if (contains(network, prefix, b)) return { network, prefix, why };
  }
  const embedded = (base: string): SpecialRange | undefined => {
    const network = parseIPv6(base)!;
    if (!contains(network, 96, b)) return undefined;
    const inner = specialRange({ kind: "ipv4", bytes: b.slice(12), text: "" });
    if (!inner) return undefined;
    const full = network.slice();
    full.set(inner.network, 12);
    return { network: full, prefix: 96 + inner.prefix, why: inner.why };
  };
  const mapped = embedded("::ffff:0:0") ?? embedded("64:ff9b::");
  if (mapped) return mapped;
  const compatible = parseIPv6("::")!;
  if (contains(compatible, 96, b) && !(b[15] <= 1 && b.subarray(12, 15).every((x) => x === 0))) {
    return { network: compatible, prefix: 96, why: "a deprecated IPv4-compatible address" };
  }
  return undefined;
}

function parsePorts(text: string, entry: string): [number, number] {
  if (text === "*") return [1, 65535];
  const match = /^([1-9][0-9]{0,4})(?:-([1-9][0-9]{0,4}))?$/.exec(text);
  const min = match ? Number(match[1]) : NaN;
  const max = match ? Number(match[2] ?? match[1]) : NaN;
  if (!match || max > 65535 || min > max) {
    throw new HostSyntaxError(`Invalid port or port range in allow-list entry "${entry}"`);
  }
  return [min, max];
}

/**
 * Parses one allow-list entry: `host:port`, `host:7000-7005`, `host:*`, where host is a name,
 * `*.suffix`, an IPv4 address or CIDR (`10.0.0.0/8`), or a bracketed IPv6 address or CIDR
 * (`[fd00::/8]`).
 *
 * @example
 * ```ts
 * import { parseAllowEntry } from "@kvwire/kvwire/tunnel";
 * parseAllowEntry("10.0.0.0/8:6379-6380").prefix; // 8
 * ```
 */
export function parseAllowEntry(text: string): AllowEntry {
  const entry = text.trim();
  const colon = entry.lastIndexOf(":");
  if (colon <= 0) throw new HostSyntaxError(`Expected "host:port" in allow-list, got "${text}"`);
  const [portMin, portMax] = parsePorts(entry.slice(colon + 1), entry);
  let host = entry.slice(0, colon);
  if (host.startsWith("*.")) {
    const suffix = parseHost(host.slice(2));
    if (suffix.kind !== "name") {
      throw new HostSyntaxError(`A wildcard needs a name suffix, got "${text}"`);
    }
    return { text: entry, kind: "wildcard", name: suffix.text, portMin, portMax };
  }
  let prefixText: string | undefined;
  const inBracket = /^\[([^\]/]+)\/(\d+)\]$/.exec(host);
  const slash = inBracket ? -1 : host.lastIndexOf("/");
  if (inBracket) {
    host = `[${inBracket[1]}]`;
    prefixText = inBracket[2];
  } else if (slash > 0) {
    prefixText = host.slice(slash + 1);
    host = host.slice(0, slash);
  }
  const parsed = parseHost(host);
  if (parsed.kind === "name") {
    if (prefixText !== undefined) throw new HostSyntaxError(`A name has no prefix: "${text}"`);
    return { text: entry, kind: "name", name: parsed.text, portMin, portMax };
  }
  const bits = parsed.bytes.length * 8;
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  if (prefixText !== undefined && (!/^\d{1,3}$/.test(prefixText) || prefix > bits)) {
    throw new HostSyntaxError(`Invalid prefix length in allow-list entry "${text}"`);
  }
  const network = parsed.bytes.slice();
  for (let bit = prefix; bit < bits; bit++) network[bit >> 3] &= ~(0x80 >> (bit & 7));
  return { text: entry, kind: "cidr", network, prefix, portMin, portMax };
}

/**
 * An allow-list of targets. Names match names only and IP entries match IP literals only: an
 * entry `127.0.0.1:6379` does not let `localhost:6379`, `[::ffff:127.0.0.1]:6379` or
 * `127.1:6379` through.
 *
 * @example
 * ```ts
 * import { AllowList, parseTarget } from "@kvwire/kvwire/tunnel";
 * const list = AllowList.parse(["127.0.0.1:6379", "10.0.0.0/8:7000-7005", "*.cache.internal:*"]);
 * list.match(parseTarget("10.1.2.3:7001"))?.text; // "10.0.0.0/8:7000-7005"
 * list.match(parseTarget("localhost:6379")); // undefined
 * ```
 */
export class AllowList {
  /** The parsed entries, in the order given. */
  readonly entries: readonly AllowEntry[];

  /** Wraps parsed entries; see {@link AllowList.parse}. */
  constructor(entries: readonly AllowEntry[]) {
    this.entries = entries;
  }

  /** Parses entries (an array, or one string separated by commas or whitespace). */
  static parse(entries: string | readonly string[]): AllowList {
    const list = typeof entries === "string" ? entries.split(/[\s,]+/) : entries;
    return new AllowList(list.filter((e) => e.trim() !== "").map(parseAllowEntry));
  }

  /** Every entry that admits the target (a name, or an IP literal), most specific first. */
  matchAll(target: Target): AllowEntry[] {
    const { host, port } = target;
    const found = this.entries.filter((e) => {
      if (port < e.portMin || port > e.portMax) return false;
      if (host.kind === "name") {
        return e.kind === "name"
          ? e.name === host.text
          : e.kind === "wildcard" && host.text.endsWith(`.${e.name}`);
      }
      return e.kind === "cidr" && contains(e.network!, e.prefix!, host.bytes);
    });
    return found.sort((a, b) => (b.prefix ?? 0) - (a.prefix ?? 0));
  }

  /** The most specific entry that admits the target, or undefined. */
  match(target: Target): AllowEntry | undefined {
    return this.matchAll(target)[0];
  }

  /** The entries as written. */
  toJSON(): string[] {
    return this.entries.map((e) => e.text);
  }
}

/**
 * Whether some entry names the special-purpose range's address on purpose: a CIDR entry at
 * least as narrow as the special range and inside it (`169.254.169.254:80`, not `0.0.0.0/0:*`).
 *
 * @example
 * ```ts
 * import { AllowList, explicitlyListed, parseTarget } from "@kvwire/kvwire/tunnel";
 * const target = parseTarget("169.254.169.254:80");
 * explicitlyListed(AllowList.parse("0.0.0.0/0:*"), target); // false
 * explicitlyListed(AllowList.parse("169.254.169.254:80"), target); // true
 * ```
 */
export function explicitlyListed(list: AllowList, target: Target): boolean {
  const special = specialRange(target.host);
  if (!special) return list.match(target) !== undefined;
  return list.matchAll(target).some((e) =>
    e.kind === "cidr" && e.prefix! >= special.prefix &&
    contains(special.network, special.prefix, e.network!)
  );
}

/**
 * Formats an IP host for dialling: dotted quad or bare canonical IPv6.
 *
 * @example
 * ```ts
 * import { dialHost, parseIP } from "@kvwire/kvwire/tunnel";
 * dialHost(parseIP("0::1")!); // "::1"
 * ```
 */
export function dialHost(ip: Host): string {
  return ip.kind === "ipv6" ? formatIPv6(ip.bytes) : ip.text;
}
