import { isIP } from "node:net";
import type { EnvField } from "./config.js";

/**
 * Where one peer is: a URL (`http://host:port`, `https://` for TLS), or several comma-separated, one per replica
 * (`http://127.0.0.1:5002,http://127.0.0.1:5012`). grpc-js balances the calls over them: the
 * `target` names every address for its resolver, and the channel's round_robin policy picks a
 * ready one per call.
 */
export interface PeerAddresses {
  /** `https` when the peer serves TLS; every entry of a list has the same scheme. */
  readonly scheme: "http" | "https";
  /** The grpc-js channel target: `host:port` for one address (resolved by DNS), `ipv4:a:p,b:p` or `ipv6:[a]:p,[b]:p` for several. */
  readonly target: string;
  /** Each replica's `host:port`, in the order given. */
  readonly addresses: readonly string[];
  /**
   * Whether calls are spread (round_robin): several addresses, or one host name that may resolve
   * to several (not an IP literal, not `localhost`). One address keeps grpc-js's default
   * pick_first, whose idle channel reconnects on the next call: with round_robin, a call made
   * while its only peer's connection is backing off after a restart fails at once instead.
   */
  readonly balance: boolean;
}

/**
 * Parses one peer's URL, or a comma-separated list of them (one per replica).
 *
 * Several addresses must be IP literals of one family: grpc-js resolves a list only of IP
 * addresses (`ipv4:`/`ipv6:` targets). For replicas known by name, give ONE host name that
 * resolves to all of them (a DNS name with several records, as a Docker service with replicas
 * has): grpc-js resolves it and balances over every address it gets.
 * @throws Error naming the entry at fault.
 */
export function parsePeerAddresses(value: string): PeerAddresses {
  const entries = value.split(",").map((s) => s.trim());
  const parsed = entries.map((entry, i) => {
    const where = entries.length > 1 ? `entry ${i + 1} (${JSON.stringify(entry)})` : JSON.stringify(entry);
    if (entry === "") throw new Error(`${where} is empty`);
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      throw new Error(`${where} is not a URL such as http://127.0.0.1:5002`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error(`${where} must start with http:// (or https:// for TLS)`);
    if (url.port === "") throw new Error(`${where} has no port`);
    if (url.username !== "" || url.password !== "" || (url.pathname !== "/" && url.pathname !== "") || url.search !== "" || url.hash !== "")
      throw new Error(`${where} must be only http://host:port`);
    return { host: url.host, scheme: url.protocol === "https:" ? ("https" as const) : ("http" as const) };
  });
  const schemes = new Set(parsed.map((p) => p.scheme));
  if (schemes.size > 1) throw new Error("the addresses must all be http:// or all https://");
  const scheme = parsed[0]!.scheme;
  const addresses = parsed.map((p) => p.host);
  if (addresses.length === 1) {
    const host = hostOf(addresses[0]!);
    return { scheme, target: addresses[0]!, addresses, balance: isIP(host) === 0 && host !== "localhost" };
  }
  const families = new Set(addresses.map((a) => isIP(hostOf(a))));
  if (families.has(0))
    throw new Error(
      "several addresses must be IP addresses (http://10.0.0.5:5002,http://10.0.0.6:5002): for replicas known by name, give one host name that resolves to all of them",
    );
  if (families.size > 1) throw new Error("several addresses must be all IPv4 or all IPv6");
  return { scheme, target: `${families.has(4) ? "ipv4" : "ipv6"}:${addresses.join(",")}`, addresses, balance: true };
}

/** A configuration field: one peer URL or a comma-separated list of them (`parsePeerAddresses`). */
export function peerUrls(fallback: string): EnvField<string> {
  return {
    default: fallback,
    describe: "a URL http://host:port (https:// for TLS), or several comma-separated IP URLs (one per replica)",
    parse: (s) => {
      parsePeerAddresses(s);
      return s.trim();
    },
  };
}

/** The host of `host:port` without the brackets of an IPv6 literal. */
function hostOf(address: string): string {
  const host = address.slice(0, address.lastIndexOf(":"));
  return host.startsWith("[") ? host.slice(1, -1) : host;
}
