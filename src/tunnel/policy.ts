// Admission of a tunnel request: token, relay allow-list, token targets, DNS, special-purpose
// addresses. Decides before anything is dialled; the relay dials only what this returns.

import { AllowList, dialHost, explicitlyListed, specialRange } from "./allow_list.ts";
import {
  formatTarget,
  type Host,
  HostSyntaxError,
  parseHost,
  parseIP,
  parseTarget,
  type Target,
} from "./host.ts";
import type { FailureClass } from "./dial.ts";
import { AUTH_PROTOCOL_PREFIX, TunnelCloseCode } from "./protocol.ts";
import { type TunnelSecret, verifyTunnelToken } from "./token.ts";

/** Resolves a DNS name to IP addresses as text (`127.0.0.1`, `::1`). */
export type Resolve = (name: string) => Promise<string[]>;

/** What admission needs to know. */
export interface AdmissionPolicy {
  /** Secrets tokens are verified with; undefined only when `insecureNoAuth` is set. */
  readonly secrets?: readonly TunnelSecret[];
  /** Accept requests without a token. Never the default. */
  readonly insecureNoAuth?: boolean;
  /** Targets the relay may dial. */
  readonly allow: AllowList;
  /** Resolves target names (never called for IP literals). */
  readonly resolve: Resolve;
  /** Gives up resolving after this many milliseconds. */
  readonly resolveTimeout: number;
  /** Milliseconds since the epoch, for token expiry. */
  readonly now: () => number;
}

/** The request as the relay saw it. */
export interface TunnelRequest {
  /** The query parameters of the upgrade request. */
  readonly query: URLSearchParams;
  /** The subprotocols the client offered. */
  readonly protocols: readonly string[];
}

/** The outcome of {@link admit}. */
export type Admission =
  | {
    ok: true;
    target: Target;
    /**
     * The addresses to dial, in turn, in the resolver's order: IPs, never a name (every one
     * was checked; the relay never resolves again).
     */
    dial: readonly { host: string; port: number }[];
    tls: boolean;
    /** SNI and certificate name for TLS: the target's name, or `servername`. */
    serverName?: string;
    /** The token's subject, for logs. */
    subject?: string;
  }
  | {
    ok: false;
    code: TunnelCloseCode;
    reason: string;
    target?: string;
    /** For logs: `policy` (token, allow-list, request), `dns` or `timeout` (resolving). */
    failure: FailureClass;
  };

function refuse(
  code: TunnelCloseCode,
  reason: string,
  target?: Target,
  failure: FailureClass = "policy",
): Admission {
  return { ok: false, code, reason, target: target && formatTarget(target), failure };
}

function tokenOf(request: TunnelRequest): string | undefined {
  const fromProtocol = request.protocols.find((p) => p.startsWith(AUTH_PROTOCOL_PREFIX));
  return fromProtocol?.slice(AUTH_PROTOCOL_PREFIX.length) ?? request.query.get("token") ??
    undefined;
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | "timeout"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Decides whether a tunnel may open and to which IP address. In order: the token (signature,
 * expiry), the target's spelling, the relay's allow-list, the token's targets, then the
 * address: an IP literal directly, a name through DNS, resolved once. Special-purpose addresses
 * (link-local, metadata, `0.0.0.0`, multicast...) pass only when the allow-list names them on
 * purpose; a name any of whose addresses is one is refused whole. Every address returned was
 * checked, so the relay dials them in turn and never resolves again. Nothing here connects.
 *
 * @example
 * ```ts
 * import { admit, AllowList } from "@kvwire/kvwire/tunnel";
 * const verdict = await admit(
 *   { query: new URLSearchParams("target=127.0.0.1:6379"), protocols: [] },
 *   {
 *     insecureNoAuth: true,
 *     allow: AllowList.parse("127.0.0.1:6379"),
 *     resolve: () => Promise.resolve([]),
 *     resolveTimeout: 1000,
 *     now: Date.now,
 *   },
 * );
 * console.log(verdict.ok); // true
 * ```
 */
export async function admit(request: TunnelRequest, policy: AdmissionPolicy): Promise<Admission> {
  let tokenTargets: AllowList | undefined;
  let subject: string | undefined;
  if (!policy.insecureNoAuth) {
    const verdict = await verifyTunnelToken(tokenOf(request), {
      secrets: policy.secrets ?? [],
      now: policy.now(),
    });
    if (!verdict.ok) return refuse(TunnelCloseCode.Unauthorized, `token ${verdict.problem}`);
    tokenTargets = verdict.targets;
    subject = verdict.claims.sub;
  }
  const text = request.query.get("target");
  if (!text) return refuse(TunnelCloseCode.BadRequest, "no target given");
  let target: Target;
  try {
    target = parseTarget(text);
  } catch (error) {
    if (!(error instanceof HostSyntaxError)) throw error;
    return refuse(TunnelCloseCode.BadRequest, `bad target: ${error.message}`);
  }
  if (!policy.allow.match(target)) {
    return refuse(TunnelCloseCode.Forbidden, "target not in the relay's allow-list", target);
  }
  if (tokenTargets && !tokenTargets.match(target)) {
    return refuse(TunnelCloseCode.Forbidden, "target not allowed by the token", target);
  }
  const tls = ["1", "true"].includes(request.query.get("tls") ?? "");
  let serverName: string | undefined;
  const named = request.query.get("servername");
  if (named) {
    try {
      const host = parseHost(named);
      if (host.kind !== "name") throw new HostSyntaxError("servername must be a name");
      serverName = host.text;
    } catch {
      return refuse(TunnelCloseCode.BadRequest, "bad servername", target);
    }
  }
  let addresses: Host[];
  if (target.host.kind !== "name") {
    const special = specialRange(target.host);
    if (special && !explicitlyListed(policy.allow, target)) {
      return refuse(TunnelCloseCode.Forbidden, `target is ${special.why}`, target);
    }
    addresses = [target.host];
  } else {
    const name = target.host.text;
    let answers: string[] | "timeout";
    try {
      answers = await withTimeout(policy.resolve(name), policy.resolveTimeout);
    } catch {
      return refuse(TunnelCloseCode.TargetUnreachable, "cannot resolve the target", target, "dns");
    }
    if (answers === "timeout") {
      const reason = "resolving the target timed out";
      return refuse(TunnelCloseCode.TargetTimeout, reason, target, "timeout");
    }
    const ips = answers.map(parseIP);
    if (ips.length === 0 || ips.some((ip) => ip === undefined)) {
      return refuse(TunnelCloseCode.TargetUnreachable, "cannot resolve the target", target, "dns");
    }
    for (const ip of ips as Host[]) {
      const special = specialRange(ip);
      if (special && !explicitlyListed(policy.allow, { host: ip, port: target.port })) {
        return refuse(TunnelCloseCode.Forbidden, `target resolves to ${special.why}`, target);
      }
    }
    addresses = ips as Host[];
    serverName ??= name;
  }
  const hosts = [...new Set(addresses.map(dialHost))];
  return {
    ok: true,
    target,
    dial: hosts.map((host) => ({ host, port: target.port })),
    tls,
    serverName,
    subject,
  };
}
