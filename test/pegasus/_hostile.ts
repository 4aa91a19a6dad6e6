// The Pegasus protocol for the hostile-server kit: THFT request frames cut by the simulator's
// wire layer (the `thrift` package, never src/pegasus), one server acting as meta and replica.

import { Buffer } from "node:buffer";
import type { HostileProtocol } from "../_helpers/hostile_server.ts";
import { handleRrdb, ScanContexts } from "../fixtures/pegasus/replica.ts";
import { partitionConfigReply } from "../fixtures/pegasus/simulator.ts";
import { makeKey, PartitionStore } from "../fixtures/pegasus/store.ts";
import { cutRequest, put, replyFrame, type RequestFrame } from "../fixtures/pegasus/wire.ts";

const EPOCH_2016 = 1451606400;

/** A hostile Pegasus protocol and the store behind it; set `address` once the port is known. */
export interface HostilePegasus extends HostileProtocol<RequestFrame> {
  /** `host:port` the meta answer names as the primary of the table's one partition. */
  address: string;
  /** The table's only partition. */
  readonly store: PartitionStore;
  /** Meta queries answered so far. */
  metaQueries: number;
}

/**
 * Meta queries are answered as handshake steps (never faulted or counted; with `faultMeta`
 * they are requests like any other): table "temp" with app id 1 and one partition whose
 * primary is this server. Data RPCs run on one store.
 */
export function hostilePegasus(
  seed: Iterable<[string, string, string]> = [],
  { faultMeta = false }: { faultMeta?: boolean } = {},
): HostilePegasus {
  const store = new PartitionStore();
  for (const [h, s, v] of seed) {
    store.set(makeKey(Buffer.from(h), Buffer.from(s)), Buffer.from(v), 0);
  }
  const scanners = new ScanContexts();
  const protocol: HostilePegasus = {
    address: "",
    store,
    metaQueries: 0,
    hasHandshake: true, // pre-sent bytes follow the meta answer, racing the first data reply
    parse(buffer) {
      const cut = cutRequest(Buffer.from(buffer.buffer, buffer.byteOffset, buffer.length));
      return cut === undefined || cut === "bad"
        ? undefined
        : { request: cut.frame, length: cut.length };
    },
    respond(frame) {
      if (frame.rpc === "RPC_CM_QUERY_PARTITION_CONFIG_BY_INDEX") {
        protocol.metaQueries++;
        const parts = [{ appId: 1, index: 0, ballot: 1n, address: protocol.address }];
        return { bytes: partitionConfigReply(frame, "ERR_OK", 1, parts), handshake: !faultMeta };
      }
      const reply = handleRrdb({
        store,
        appId: 1,
        partitionIndex: 0,
        server: protocol.address,
        now: Math.floor(Date.now() / 1000) - EPOCH_2016,
        scanners,
      }, frame);
      return { bytes: reply ?? new Uint8Array(0) };
    },
  };
  return protocol;
}

/** A well-formed GET reply for `seqid` carrying `value`: bytes to pre-send or inject. */
export function strayReply(seqid: number, value = "stolen"): Uint8Array {
  return replyFrame("ERR_OK", "RPC_RRDB_RRDB_GET", seqid, (p) => {
    put.i32(p, 1, 0);
    put.blob(p, 2, Buffer.from(value));
    put.i32(p, 3, 1);
    put.i32(p, 4, 0);
    put.string(p, 6, "stray");
  });
}
