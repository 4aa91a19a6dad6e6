// A real DNS server for the SRV tests: a UDP responder on 127.0.0.1 (node:dgram, so it runs on
// Deno, Bun and Node) answering SRV questions from a small zone. A name outside the zone is
// NXDOMAIN; a name in the zone asked for another type gets an empty answer.

import * as dgram from "node:dgram";

/** One SRV record of the zone. */
export interface ZoneSrv {
  priority: number;
  weight: number;
  port: number;
  /** The target host name (`127.0.0.1` is sent as the four labels of that name). */
  target: string;
}

/** A running responder. */
export interface DnsServer {
  /** The UDP port on 127.0.0.1. */
  port: number;
  /** The zone it answers from (lowercased names); changes take effect at once. */
  zone: Map<string, ZoneSrv[]>;
  /** SRV questions received, lowercased, in order. */
  questions: string[];
  /** Stops answering. */
  close(): Promise<void>;
}

const SRV = 33;

/**
 * Starts a responder for `zone` (SRV owner name → records; names without a final dot).
 *
 * @example
 * ```ts
 * const dns = await startDnsServer({ "_etcd._tcp.kvwire.test": [
 *   { priority: 0, weight: 0, port: 2379, target: "127.0.0.1" },
 * ] });
 * await dns.close();
 * ```
 */
export async function startDnsServer(zone: Record<string, ZoneSrv[]>): Promise<DnsServer> {
  const records = new Map(Object.entries(zone).map(([name, srv]) => [name.toLowerCase(), srv]));
  const socket = dgram.createSocket("udp4");
  const questions: string[] = [];
  socket.on("message", (query: Uint8Array, peer: dgram.RemoteInfo) => {
    const answer = respond(query, records, questions);
    if (answer) socket.send(answer, peer.port, peer.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(0, "127.0.0.1", () => resolve());
  });
  return {
    port: socket.address().port,
    zone: records,
    questions,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

function respond(
  query: Uint8Array,
  records: Map<string, ZoneSrv[]>,
  questions: string[],
): Uint8Array | undefined {
  if (query.length < 12) return undefined;
  const view = new DataView(query.buffer, query.byteOffset, query.byteLength);
  const labels: string[] = [];
  let at = 12;
  while (at < query.length && query[at] !== 0) {
    const length = query[at];
    labels.push(new TextDecoder().decode(query.subarray(at + 1, at + 1 + length)));
    at += 1 + length;
  }
  const questionEnd = at + 5; // the root label, QTYPE, QCLASS
  if (questionEnd > query.length) return undefined;
  const name = labels.join(".").toLowerCase();
  const type = view.getUint16(at + 1);
  if (type === SRV) questions.push(name);
  const found = records.get(name);
  const answers = found && type === SRV ? found : [];
  const parts: number[] = [];
  const u16 = (n: number) => parts.push(n >> 8, n & 0xff);
  u16(view.getUint16(0)); // the query's id
  u16(0x8400 | (query[2] & 0x01) << 8 | (found ? 0 : 3)); // answer, authoritative, RD, rcode
  u16(1);
  u16(answers.length);
  u16(0);
  u16(0);
  parts.push(...query.subarray(12, questionEnd));
  for (const srv of answers) {
    const target = srv.target.split(".").flatMap((label) => {
      const bytes = new TextEncoder().encode(label);
      return [bytes.length, ...bytes];
    });
    u16(0xc00c); // the question's name
    u16(SRV);
    u16(1);
    u16(0);
    u16(0); // TTL: no cache may keep the answer, so zone changes show at once
    u16(6 + target.length + 1);
    u16(srv.priority);
    u16(srv.weight);
    u16(srv.port);
    parts.push(...target, 0);
  }
  return new Uint8Array(parts);
}
