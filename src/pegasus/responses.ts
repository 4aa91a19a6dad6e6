// Schema-driven decoders of the Pegasus response structs (pegasus.md §3): placeholder fields
// (blob, error_code, rpc_address, gpid, host_port) are read raw; unknown fields are skipped.

import { RemoteProtocolError } from "../core/errors.ts";
import { type ThriftReader, TType } from "./thrift.ts";

/** A key-value pair of a multi_get or scan reply. */
export interface KeyValue {
  /** The key: a sort key (multi_get) or an encoded key (scan). */
  key: Uint8Array;
  /** The value (empty with `noValue`). */
  value: Uint8Array;
  /** Absolute expiry (seconds since 2016-01-01) when the server returned it. */
  expireTs?: number;
}

/** The fields every rrdb response shares. */
export interface RrdbResponse {
  /** RocksDB status (0 ok, 1 not found, 7 incomplete, 13 try again, ...). */
  error: number;
  /** The app id of the table that answered. */
  appId: number;
  /** The index of the partition that answered. */
  partitionIndex: number;
  /** The replica server that answered. */
  server: string;
}

/** `update_response`, `incr_response`, `multi_remove_response`, `count_response`, ... */
export interface CountResponse extends RrdbResponse {
  /** count (sortkey_count, multi_remove) or new_value (incr); 0 for put. */
  count: bigint;
  /** The write's decree (log sequence number) on the partition. */
  decree: bigint;
}

/** `read_response` and `ttl_response`. */
export interface ReadResponse extends RrdbResponse {
  /** The value read (get only). */
  value: Uint8Array;
  /** Remaining seconds to live, -1 = no TTL (ttl only). */
  ttlSeconds: number;
}

/** `multi_get_response` and `scan_response`. */
export interface KvsResponse extends RrdbResponse {
  /** The pairs returned. */
  kvs: KeyValue[];
  /** scan only: the next context id (-1 = done). */
  contextId: bigint;
  /** scan only, with `only_return_count`: how many records this batch counted. */
  kvCount?: number;
}

/** `check_and_set_response` and `check_and_mutate_response`. */
export interface CheckResponse extends RrdbResponse {
  /** True when the checked value was asked for and is returned. */
  checkValueReturned: boolean;
  /** Whether the checked record existed. */
  checkValueExist: boolean;
  /** The checked record's value, when returned. */
  checkValue: Uint8Array;
  /** The write's decree (log sequence number) on the partition. */
  decree: bigint;
}

/** A replica address decoded from `rpc_address` (`undefined` = none). */
export type ReplicaAddress = string | undefined;

/** One `partition_configuration`. */
export interface PartitionConfiguration {
  /** The table's app id. */
  appId: number;
  /** The partition's index. */
  partitionIndex: number;
  /** The configuration's ballot (negative for a split child that is not ready). */
  ballot: bigint;
  /** How many replicas the partition should have. */
  maxReplicaCount: number;
  /** The primary replica's address. */
  primary: ReplicaAddress;
  /** The secondary replicas' addresses. */
  secondaries: string[];
  /** The last decree committed on the partition. */
  lastCommittedDecree: bigint;
  /** Partition flags. */
  partitionFlags: number;
  /** host_port of the primary (newer servers). */
  hpPrimary?: string;
}

/** `query_cfg_response`. */
export interface QueryConfigResponse {
  /** The rDSN error name, such as `"ERR_OK"`. */
  err: string;
  /** The table's app id. */
  appId: number;
  /** How many partitions the table has. */
  partitionCount: number;
  /** Whether the table is stateful (replicated storage). */
  isStateful: boolean;
  /** The partitions' configurations asked for. */
  partitions: PartitionConfiguration[];
}

const EMPTY = new Uint8Array(0);

function base(): RrdbResponse {
  return { error: 0, appId: 0, partitionIndex: 0, server: "" };
}

/**
 * Decodes an `rpc_address` i64: `ipv4 << 32 | port << 16 | type`; type 1 is IPv4, anything
 * else (including 0) means no address.
 *
 * @example
 * ```ts
 * import { decodeRpcAddress } from "@kvwire/kvwire/pegasus";
 * decodeRpcAddress(0x7f00000187f10001n); // "127.0.0.1:34801"
 * ```
 */
export function decodeRpcAddress(value: bigint): ReplicaAddress {
  const v = BigInt.asUintN(64, value);
  if ((v & 3n) !== 1n) return undefined;
  const ip = Number(v >> 32n);
  const port = Number((v >> 16n) & 0xffffn);
  return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}:${port}`;
}

function kvList(r: ThriftReader, type: number): KeyValue[] | undefined {
  if (type !== TType.LIST) return undefined;
  const { elementType, count } = r.listHeader();
  const out: KeyValue[] = [];
  for (let i = 0; i < count; i++) {
    if (elementType !== TType.STRUCT) {
      r.skip(elementType);
      continue;
    }
    const kv: KeyValue = { key: EMPTY, value: EMPTY };
    r.struct((t, id) => {
      if (id === 1 && t === TType.STRUCT) kv.key = r.binary();
      else if (id === 2 && t === TType.STRUCT) kv.value = r.binary();
      else if (id === 3 && t === TType.I32) kv.expireTs = r.i32();
      else return false;
      return true;
    });
    out.push(kv);
  }
  return out;
}

/**
 * Decodes update/incr/multi_remove/count responses (their ids differ; see pegasus.md §3).
 *
 * @example
 * ```ts
 * import { decodeCountResponse, ThriftReader } from "@kvwire/kvwire/pegasus";
 * decodeCountResponse("update", new ThriftReader(new Uint8Array([8, 0, 1, 0, 0, 0, 0, 0])));
 * ```
 */
export function decodeCountResponse(
  kind: "update" | "incr" | "multiRemove" | "count",
  r: ThriftReader,
): CountResponse {
  const out: CountResponse = { ...base(), count: 0n, decree: 0n };
  // update: 2 app, 3 pidx, 4 decree, 5 server. incr/multiRemove: 2 value, 3 app, 4 pidx,
  // 5 decree, 6 server. count: 2 count, 3 app, 4 pidx, 6 server.
  const shifted = kind !== "update";
  r.struct((t, id) => {
    if (id === 1 && t === TType.I32) out.error = r.i32();
    else if (shifted && id === 2 && t === TType.I64) out.count = r.i64();
    else if (id === (shifted ? 3 : 2) && t === TType.I32) out.appId = r.i32();
    else if (id === (shifted ? 4 : 3) && t === TType.I32) out.partitionIndex = r.i32();
    else if (id === (shifted ? 5 : 4) && t === TType.I64) out.decree = r.i64();
    else if (id === (shifted ? 6 : 5) && t === TType.STRING) out.server = r.string();
    else return false;
    return true;
  });
  return out;
}

/**
 * Decodes a `read_response` (get) or `ttl_response` (ttl).
 *
 * @example
 * ```ts
 * import { decodeReadResponse, ThriftReader } from "@kvwire/kvwire/pegasus";
 * decodeReadResponse(new ThriftReader(new Uint8Array([8, 0, 1, 0, 0, 0, 1, 0]))).error; // 1
 * ```
 */
export function decodeReadResponse(r: ThriftReader): ReadResponse {
  const out: ReadResponse = { ...base(), value: EMPTY, ttlSeconds: 0 };
  r.struct((t, id) => {
    if (id === 1 && t === TType.I32) out.error = r.i32();
    else if (id === 2 && t === TType.STRUCT) out.value = r.binary();
    else if (id === 2 && t === TType.I32) out.ttlSeconds = r.i32();
    else if (id === 3 && t === TType.I32) out.appId = r.i32();
    else if (id === 4 && t === TType.I32) out.partitionIndex = r.i32();
    else if (id === 6 && t === TType.STRING) out.server = r.string();
    else return false;
    return true;
  });
  return out;
}

/**
 * Decodes a `multi_get_response` (`scan` false) or `scan_response` (`scan` true).
 *
 * @example
 * ```ts
 * import { decodeKvsResponse, ThriftReader } from "@kvwire/kvwire/pegasus";
 * decodeKvsResponse(false, new ThriftReader(new Uint8Array([0]))).kvs; // []
 * ```
 */
export function decodeKvsResponse(scan: boolean, r: ThriftReader): KvsResponse {
  const out: KvsResponse = { ...base(), kvs: [], contextId: -1n };
  r.struct((t, id) => {
    if (id === 1 && t === TType.I32) out.error = r.i32();
    else if (id === 2 && t === TType.LIST) out.kvs = kvList(r, t)!;
    else if (scan && id === 3 && t === TType.I64) out.contextId = r.i64();
    else if (id === (scan ? 4 : 3) && t === TType.I32) out.appId = r.i32();
    else if (id === (scan ? 5 : 4) && t === TType.I32) out.partitionIndex = r.i32();
    else if (id === 6 && t === TType.STRING) out.server = r.string();
    else if (scan && id === 7 && t === TType.I32) out.kvCount = r.i32();
    else return false;
    return true;
  });
  return out;
}

/**
 * Decodes a `check_and_set_response` or `check_and_mutate_response`.
 *
 * @example
 * ```ts
 * import { decodeCheckResponse, ThriftReader } from "@kvwire/kvwire/pegasus";
 * decodeCheckResponse(new ThriftReader(new Uint8Array([8, 0, 1, 0, 0, 0, 13, 0]))).error; // 13
 * ```
 */
export function decodeCheckResponse(r: ThriftReader): CheckResponse {
  const out: CheckResponse = {
    ...base(),
    checkValueReturned: false,
    checkValueExist: false,
    checkValue: EMPTY,
    decree: 0n,
  };
  r.struct((t, id) => {
    if (id === 1 && t === TType.I32) out.error = r.i32();
    else if (id === 2 && t === TType.BOOL) out.checkValueReturned = r.bool();
    else if (id === 3 && t === TType.BOOL) out.checkValueExist = r.bool();
    else if (id === 4 && t === TType.STRUCT) out.checkValue = r.binary();
    else if (id === 5 && t === TType.I32) out.appId = r.i32();
    else if (id === 6 && t === TType.I32) out.partitionIndex = r.i32();
    else if (id === 7 && t === TType.I64) out.decree = r.i64();
    else if (id === 8 && t === TType.STRING) out.server = r.string();
    else return false;
    return true;
  });
  return out;
}

function addressList(r: ThriftReader): string[] {
  const { elementType, count } = r.listHeader();
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    if (elementType === TType.STRUCT || elementType === TType.I64) {
      const address = decodeRpcAddress(r.i64());
      if (address) out.push(address);
    } else r.skip(elementType);
  }
  return out;
}

function hostPort(r: ThriftReader): string {
  const host = r.string();
  const port = r.i16() & 0xffff;
  r.u8(); // type
  return `${host}:${port}`;
}

function partitionConfiguration(r: ThriftReader): PartitionConfiguration {
  const out: PartitionConfiguration = {
    appId: 0,
    partitionIndex: 0,
    ballot: 0n,
    maxReplicaCount: 0,
    primary: undefined,
    secondaries: [],
    lastCommittedDecree: 0n,
    partitionFlags: 0,
  };
  r.struct((t, id) => {
    if (id === 1 && t === TType.STRUCT) {
      out.partitionIndex = r.i32();
      out.appId = r.i32();
    } else if (id === 2 && t === TType.I64) out.ballot = r.i64();
    else if (id === 3 && t === TType.I32) out.maxReplicaCount = r.i32();
    else if (id === 4 && t === TType.STRUCT) out.primary = decodeRpcAddress(r.i64());
    else if (id === 5 && t === TType.LIST) out.secondaries = addressList(r);
    else if (id === 6 && t === TType.LIST) addressList(r);
    else if (id === 7 && t === TType.I64) out.lastCommittedDecree = r.i64();
    else if (id === 8 && t === TType.I32) out.partitionFlags = r.i32();
    else if (id === 9 && t === TType.STRUCT) out.hpPrimary = hostPort(r);
    else if ((id === 10 || id === 11) && t === TType.LIST) {
      const { elementType, count } = r.listHeader();
      for (let i = 0; i < count; i++) {
        if (elementType === TType.STRUCT) hostPort(r);
        else r.skip(elementType);
      }
    } else return false;
    return true;
  });
  return out;
}

/**
 * Decodes a `query_cfg_response` from the meta server.
 *
 * @example
 * ```ts
 * import { decodeQueryConfigResponse, ThriftReader } from "@kvwire/kvwire/pegasus";
 * decodeQueryConfigResponse(new ThriftReader(new Uint8Array([0]))).partitions; // []
 * ```
 */
export function decodeQueryConfigResponse(r: ThriftReader): QueryConfigResponse {
  const out: QueryConfigResponse = {
    err: "ERR_UNKNOWN",
    appId: 0,
    partitionCount: 0,
    isStateful: false,
    partitions: [],
  };
  r.struct((t, id) => {
    if (id === 1 && t === TType.STRUCT) out.err = r.string();
    else if (id === 2 && t === TType.I32) out.appId = r.i32();
    else if (id === 3 && t === TType.I32) out.partitionCount = r.i32();
    else if (id === 4 && t === TType.BOOL) out.isStateful = r.bool();
    else if (id === 5 && t === TType.LIST) {
      const { elementType, count } = r.listHeader();
      for (let i = 0; i < count; i++) {
        if (elementType === TType.STRUCT) out.partitions.push(partitionConfiguration(r));
        else r.skip(elementType);
      }
    } else return false;
    return true;
  });
  if (out.partitionCount < 0 || out.partitionCount > 1 << 20) {
    throw new RemoteProtocolError(`Implausible partition count ${out.partitionCount}`);
  }
  return out;
}
