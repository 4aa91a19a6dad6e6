// Throughput of RespDecoder (RESP2/RESP3, see src/redis/resp_decoder.ts) on two reply shapes.
// Run: node_modules/.bin/tsx scripts/bench/resp_decoder.ts | deno run -A ... | bun ...

import { NEED_MORE, RespDecoder } from "../../src/redis/resp_decoder.ts";

const CHUNK = 64 * 1024;

interface Case {
  bytes: Uint8Array;
  replies: number;
  values: number; // bulk strings in all replies
}

/** The bytes of `*N` followed by `N` bulk strings of `size` bytes, about `total` bytes. */
function bigArray(total: number, size: number): Case {
  const element = `$${size}\r\n${"x".repeat(size)}\r\n`;
  const n = Math.floor(total / element.length);
  const text = `*${n}\r\n` + element.repeat(n);
  return { bytes: new TextEncoder().encode(text), replies: 1, values: n };
}

/** `count` replies `$3\r\nfoo\r\n` back to back. */
function smallReplies(count: number): Case {
  const bytes = new TextEncoder().encode("$3\r\nfoo\r\n".repeat(count));
  return { bytes, replies: count, values: count };
}

function split(bytes: Uint8Array): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += CHUNK) chunks.push(bytes.slice(i, i + CHUNK));
  return chunks;
}

/** Decodes all chunks once with a fresh decoder; returns the number of replies. */
function decodeAll(chunks: readonly Uint8Array[]): number {
  const decoder = new RespDecoder();
  let replies = 0;
  for (const chunk of chunks) {
    decoder.push(chunk);
    while (decoder.next() !== NEED_MORE) replies++;
  }
  decoder.finish();
  return replies;
}

function run(name: string, data: Case): void {
  const chunks = split(data.bytes);
  const warmUntil = performance.now() + 500;
  while (performance.now() < warmUntil) decodeAll(chunks);
  let rounds = 0;
  let replies = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < 1500) {
    replies += decodeAll(chunks);
    rounds++;
    elapsed = performance.now() - start;
  }
  if (replies !== rounds * data.replies) throw new Error(`${name}: decoded ${replies} replies`);
  const seconds = elapsed / 1000;
  const mbps = (data.bytes.length * rounds) / seconds / 1e6;
  const rps = replies / seconds;
  const vps = (data.values * rounds) / seconds;
  console.log(
    `${name.padEnd(40)} ${mbps.toFixed(0).padStart(6)} MB/s  ${fmt(rps)} replies/s  ` +
      `${fmt(vps)} bulk strings/s`,
  );
}

function fmt(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : `${n.toFixed(0)}`;
}

run("1 MiB array of 100-byte bulk strings", bigArray(1024 * 1024, 100));
run("10,000 replies $3\\r\\nfoo\\r\\n", smallReplies(10_000));
