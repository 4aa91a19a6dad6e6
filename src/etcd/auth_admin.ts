// etcd's Auth service over the gateway (`etcd.auth`): enable/disable, users and roles (add,
// get, list, delete, grant and revoke roles and permissions, change password). Passwords go
// in request bodies only: never into an error, a log line or an operation.

import type { CallOptions, EtcdChannel } from "./channel.ts";
import { b64, type KeyRange, type Keys, list } from "./kv.ts";

/** What a permission allows. */
export const PermissionType = { READ: "READ", WRITE: "WRITE", READWRITE: "READWRITE" } as const;

/** One permission of a role: a type over a key or range (user keys, namespace removed). */
export interface Permission {
  /** What it allows. */
  type: keyof typeof PermissionType;
  /** The key, or the start of the range. */
  key: Uint8Array;
  /** The exclusive end of the range (absent for one key). */
  rangeEnd?: Uint8Array;
}

/**
 * The Auth service. With auth enabled, these calls need a user with the `root` role (give the
 * client `auth` credentials).
 *
 * @example
 * ```ts
 * import { EtcdClient } from "@kvwire/kvwire/etcd";
 * await using etcd = new EtcdClient();
 * await etcd.auth.userAdd("root", "s3cret");
 * await etcd.auth.userGrantRole("root", "root");
 * await etcd.auth.roleAdd("reader");
 * await etcd.auth.roleGrantPermission("reader", "READ", { key: "pub/", prefix: true });
 * await etcd.auth.enable();
 * ```
 */
export class AuthAdmin {
  readonly #channel: EtcdChannel;
  readonly #keys: Keys;

  /** The service over `channel`; permission keys go through `keys` (the namespace). */
  constructor(channel: EtcdChannel, keys: Keys) {
    this.#channel = channel;
    this.#keys = keys;
  }

  /** Turns authentication on (a `root` user with the `root` role must exist). */
  async enable(options: CallOptions = {}): Promise<void> {
    await this.#call("/v3/auth/enable", {}, options);
  }

  /** Turns authentication off. */
  async disable(options: CallOptions = {}): Promise<void> {
    await this.#call("/v3/auth/disable", {}, options);
  }

  /** Adds user `name` with `password` (no password with `noPassword`: TLS common name only). */
  async userAdd(
    name: string,
    password: string | undefined,
    options: { noPassword?: boolean } & CallOptions = {},
  ): Promise<void> {
    const noPassword = options.noPassword === true;
    if (!noPassword) secret(password);
    await this.#call("/v3/auth/user/add", {
      name: text(name, "name"),
      password: noPassword ? "" : password,
      options: { no_password: noPassword },
    }, options);
  }

  /** The roles of user `name`. */
  async userGet(name: string, options: CallOptions = {}): Promise<{ roles: string[] }> {
    return await this.#call(
      "/v3/auth/user/get",
      { name: text(name, "name") },
      { ...options, idempotent: true },
      (json) => ({ roles: list<unknown>(json.roles).map(String) }),
    );
  }

  /** The names of every user. */
  async userList(options: CallOptions = {}): Promise<string[]> {
    return await this.#call(
      "/v3/auth/user/list",
      {},
      { ...options, idempotent: true },
      (json) => list<unknown>(json.users).map(String),
    );
  }

  /** Deletes user `name`. */
  async userDelete(name: string, options: CallOptions = {}): Promise<void> {
    await this.#call("/v3/auth/user/delete", { name: text(name, "name") }, options);
  }

  /** Sets the password of user `name`. */
  async userChangePassword(
    name: string,
    password: string,
    options: CallOptions = {},
  ): Promise<void> {
    await this.#call("/v3/auth/user/changepw", {
      name: text(name, "name"),
      password: secret(password),
    }, options);
  }

  /** Grants role `role` to user `user`. */
  async userGrantRole(user: string, role: string, options: CallOptions = {}): Promise<void> {
    await this.#call("/v3/auth/user/grant", {
      user: text(user, "user"),
      role: text(role, "role"),
    }, options);
  }

  /** Revokes role `role` from user `user`. */
  async userRevokeRole(user: string, role: string, options: CallOptions = {}): Promise<void> {
    await this.#call("/v3/auth/user/revoke", {
      name: text(user, "user"),
      role: text(role, "role"),
    }, options);
  }

  /** Adds role `name`. */
  async roleAdd(name: string, options: CallOptions = {}): Promise<void> {
    await this.#call("/v3/auth/role/add", { name: text(name, "name") }, options);
  }

  /** The permissions of role `name`. */
  async roleGet(name: string, options: CallOptions = {}): Promise<Permission[]> {
    return await this.#call(
      "/v3/auth/role/get",
      { role: text(name, "name") },
      { ...options, idempotent: true },
      (json) => list<Record<string, string>>(json.perm).map((p) => this.#permission(p)),
    );
  }

  /** The names of every role. */
  async roleList(options: CallOptions = {}): Promise<string[]> {
    return await this.#call(
      "/v3/auth/role/list",
      {},
      { ...options, idempotent: true },
      (json) => list<unknown>(json.roles).map(String),
    );
  }

  /** Deletes role `name`. */
  async roleDelete(name: string, options: CallOptions = {}): Promise<void> {
    await this.#call("/v3/auth/role/delete", { role: text(name, "name") }, options);
  }

  /** Lets role `role` do `type` on a key, a range or a prefix. */
  async roleGrantPermission(
    role: string,
    type: keyof typeof PermissionType,
    range: KeyRange,
    options: CallOptions = {},
  ): Promise<void> {
    if (!(type in PermissionType)) {
      throw new RangeError(`type must be READ, WRITE or READWRITE, got ${String(type)}`);
    }
    await this.#call("/v3/auth/role/grant", {
      name: text(role, "role"),
      perm: { permType: type, ...this.#keys.range(range) },
    }, options);
  }

  /** Takes back the permission of role `role` on exactly this key, range or prefix. */
  async roleRevokePermission(
    role: string,
    range: KeyRange,
    options: CallOptions = {},
  ): Promise<void> {
    await this.#call("/v3/auth/role/revoke", {
      role: text(role, "role"),
      ...this.#keys.range(range),
    }, options);
  }

  #permission(json: Record<string, string>): Permission {
    const type = String(json.permType ?? "READ") as keyof typeof PermissionType;
    const perm: Permission = { type, key: this.#keys.strip(b64(json.key)) };
    if (json.range_end) perm.rangeEnd = this.#keys.strip(b64(json.range_end));
    return perm;
  }

  async #call<T = unknown>(
    path: string,
    body: Record<string, unknown>,
    options: CallOptions,
    decode?: (json: Record<string, unknown>) => T,
  ): Promise<T> {
    return await this.#channel.call(path, body, options, decode ?? (() => undefined as T));
  }
}

function text(value: string, name: string): string {
  if (typeof value !== "string" || value === "") {
    throw new TypeError(`${name} must be a non-empty string`);
  }
  return value;
}

/** Checks a password without ever quoting it. */
function secret(password: string | undefined): string {
  if (typeof password !== "string" || password === "") {
    throw new TypeError("password must be a non-empty string (the value is not shown)");
  }
  return password;
}
