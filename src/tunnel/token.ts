// Tunnel tokens: `kvt1.<payload>.<signature>`, base64url, signed with HMAC-SHA-256 (RFC 2104)
// through WebCrypto. The payload names the targets the bearer may reach and an expiry.

import { utf8Decode, utf8Encode } from "../core/bytes.ts";
import { AllowList } from "./allow_list.ts";

/** What a token grants. */
export interface TunnelTokenClaims {
  /** Target patterns, in allow-list syntax (`127.0.0.1:6379`, `10.0.0.0/8:7000-7005`). */
  readonly targets: readonly string[];
  /** Expiry, seconds since the epoch. */
  readonly exp: number;
  /** Issued-at, seconds since the epoch. */
  readonly iat: number;
  /** Optional subject, for logs (who the token was made for). */
  readonly sub?: string;
}

/** A shared secret: text (UTF-8, at least 32 bytes), raw bytes, or an imported HMAC key. */
export type TunnelSecret = string | Uint8Array | CryptoKey;

/** Options of {@link createTunnelToken}. */
export interface CreateTunnelTokenOptions {
  /** The shared secret the relay verifies with. */
  secret: TunnelSecret;
  /** One target pattern or several (cluster protocols open many targets). */
  targets: string | readonly string[];
  /** Lifetime in seconds. Default 3600. */
  expiresIn?: number;
  /** Now, in milliseconds since the epoch. Default `Date.now()`. */
  now?: number;
  /** Who the token is for; appears in the relay's logs. */
  subject?: string;
}

/** Why a token was refused. */
export const TokenProblem = {
  Missing: "missing",
  Malformed: "malformed",
  BadSignature: "bad_signature",
  Expired: "expired",
  NotYetValid: "not_yet_valid",
} as const;

/** One of the values of {@link TokenProblem}. */
export type TokenProblem = typeof TokenProblem[keyof typeof TokenProblem];

/** The outcome of {@link verifyTunnelToken}. */
export type TokenVerdict =
  | { ok: true; claims: TunnelTokenClaims; targets: AllowList }
  | { ok: false; problem: TokenProblem };

const PREFIX = "kvt1";
/** Longer tokens are refused before any work is done. */
export const MAX_TOKEN_LENGTH = 4096;
/** Shortest secret accepted, in bytes. */
export const MIN_SECRET_BYTES = 32;

/**
 * Encodes bytes as unpadded base64url.
 *
 * @example
 * ```ts
 * import { base64UrlEncode } from "@kvwire/kvwire/tunnel";
 * base64UrlEncode(new Uint8Array([251, 255])); // "-_8"
 * ```
 */
export function base64UrlEncode(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * Decodes unpadded base64url; undefined for anything else.
 *
 * @example
 * ```ts
 * import { base64UrlDecode } from "@kvwire/kvwire/tunnel";
 * base64UrlDecode("-_8"); // Uint8Array [251, 255]
 * ```
 */
export function base64UrlDecode(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return undefined;
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/**
 * Imports a shared secret as an HMAC-SHA-256 key (do it once and reuse the key).
 * Throws `RangeError` for a secret shorter than 32 bytes.
 *
 * @example
 * ```ts
 * import { importTunnelSecret } from "@kvwire/kvwire/tunnel";
 * const key = await importTunnelSecret("a-long-random-secret-of-32-bytes-or-more!");
 * ```
 */
export async function importTunnelSecret(secret: TunnelSecret): Promise<CryptoKey> {
  if (typeof secret !== "string" && !(secret instanceof Uint8Array)) return secret;
  const raw = typeof secret === "string" ? utf8Encode(secret) : secret;
  if (raw.length < MIN_SECRET_BYTES) {
    throw new RangeError(
      `The tunnel secret must be at least ${MIN_SECRET_BYTES} bytes, got ${raw.length}`,
    );
  }
  return await crypto.subtle.importKey(
    "raw",
    new Uint8Array(raw),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
}

/**
 * Creates a signed token granting access to some targets until it expires. Works wherever
 * WebCrypto does (Workers, browsers, Deno, Bun, Node): a Worker can mint short-lived tokens.
 *
 * @example
 * ```ts
 * import { createTunnelToken } from "@kvwire/kvwire/tunnel";
 * const token = await createTunnelToken({
 *   secret: "a-long-random-secret-of-32-bytes-or-more!",
 *   targets: ["10.0.0.5:6379", "10.0.0.0/24:7000-7005"],
 *   expiresIn: 600,
 * });
 * ```
 */
export async function createTunnelToken(options: CreateTunnelTokenOptions): Promise<string> {
  const targets = typeof options.targets === "string" ? [options.targets] : [...options.targets];
  if (targets.length === 0) throw new RangeError("A tunnel token needs at least one target");
  AllowList.parse(targets); // throws HostSyntaxError (a TypeError) for a bad pattern
  const expiresIn = options.expiresIn ?? 3600;
  if (!(expiresIn > 0)) throw new RangeError(`expiresIn must be positive, got ${expiresIn}`);
  const iat = Math.floor((options.now ?? Date.now()) / 1000);
  const claims: TunnelTokenClaims = {
    targets,
    exp: iat + Math.ceil(expiresIn),
    iat,
    ...(options.subject === undefined ? {} : { sub: options.subject }),
  };
  const payload = base64UrlEncode(utf8Encode(JSON.stringify(claims)));
  const key = await importTunnelSecret(options.secret);
  const signed = `${PREFIX}.${payload}`;
  const signature = await crypto.subtle.sign("HMAC", key, new Uint8Array(utf8Encode(signed)));
  const token = `${signed}.${base64UrlEncode(new Uint8Array(signature))}`;
  if (token.length > MAX_TOKEN_LENGTH) {
    throw new RangeError(`The token is longer than ${MAX_TOKEN_LENGTH} characters`);
  }
  return token;
}

/**
 * Verifies a token's signature (constant-time, by WebCrypto) against one or more secrets (to
 * rotate: the new one first, the old one until its tokens expire), then its expiry. Never
 * throws for a bad token: the verdict says what was wrong.
 *
 * @example
 * ```ts
 * import { createTunnelToken, verifyTunnelToken } from "@kvwire/kvwire/tunnel";
 * const secret = "a-long-random-secret-of-32-bytes-or-more!";
 * const token = await createTunnelToken({ secret, targets: "127.0.0.1:6379" });
 * const verdict = await verifyTunnelToken(token, { secrets: [secret] });
 * if (verdict.ok) console.log(verdict.claims.targets); // ["127.0.0.1:6379"]
 * ```
 */
export async function verifyTunnelToken(
  token: string | undefined,
  options: { secrets: readonly TunnelSecret[]; now?: number; clockSkew?: number },
): Promise<TokenVerdict> {
  if (!token) return { ok: false, problem: TokenProblem.Missing };
  const parts = token.split(".");
  if (token.length > MAX_TOKEN_LENGTH || parts.length !== 3 || parts[0] !== PREFIX) {
    return { ok: false, problem: TokenProblem.Malformed };
  }
  const signature = base64UrlDecode(parts[2]) as Uint8Array<ArrayBuffer> | undefined;
  const payload = base64UrlDecode(parts[1]);
  if (!signature || !payload) return { ok: false, problem: TokenProblem.Malformed };
  const signed = new Uint8Array(utf8Encode(`${parts[0]}.${parts[1]}`));
  let valid = false;
  for (const secret of options.secrets) {
    const key = await importTunnelSecret(secret);
    if (await crypto.subtle.verify("HMAC", key, signature, signed)) valid = true;
  }
  if (!valid) return { ok: false, problem: TokenProblem.BadSignature };
  let claims: TunnelTokenClaims;
  let targets: AllowList;
  try {
    const parsed = JSON.parse(utf8Decode(payload)) as Partial<TunnelTokenClaims>;
    if (
      !Array.isArray(parsed.targets) || parsed.targets.some((t) => typeof t !== "string") ||
      typeof parsed.exp !== "number" || typeof parsed.iat !== "number"
    ) {
      return { ok: false, problem: TokenProblem.Malformed };
    }
    claims = parsed as TunnelTokenClaims;
    targets = AllowList.parse(claims.targets);
  } catch {
    return { ok: false, problem: TokenProblem.Malformed };
  }
  const now = (options.now ?? Date.now()) / 1000;
  const skew = options.clockSkew ?? 30;
  if (claims.exp <= now) return { ok: false, problem: TokenProblem.Expired };
  if (claims.iat > now + skew) return { ok: false, problem: TokenProblem.NotYetValid };
  return { ok: true, claims, targets };
}
