// Where a webhook target's host really points: the classification of IP addresses (private,
// loopback, link-local, CGNAT, multicast, reserved) and a host resolver over DNS-over-HTTPS.
// Pure apart from the injected fetch, so the parsing and the decisions are unit-tested in Node.
import { z } from "zod";

// ---------------------------------------------------------------------------------------------
// Addresses: only public unicast is a reachable target.
// ---------------------------------------------------------------------------------------------

const BLOCKED_V4: [number, number][] = [
  [0x00000000, 8], // "this" network
  [0x0a000000, 8], // private
  [0x64400000, 10], // CGNAT
  [0x7f000000, 8], // loopback
  [0xa9fe0000, 16], // link-local (cloud metadata)
  [0xac100000, 12], // private
  [0xc0000000, 24], // IETF protocol assignments
  [0xc0000200, 24], // documentation
  [0xc0586300, 24], // 6to4 relay anycast
  [0xc0a80000, 16], // private
  [0xc6120000, 15], // benchmarking
  [0xc6336400, 24], // documentation
  [0xcb007100, 24], // documentation
  [0xe0000000, 4], // multicast
  [0xf0000000, 4], // reserved, broadcast
];

/** A dotted-quad IPv4 address as a 32-bit number, or null. */
export function parseV4(host: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

export const v4Blocked = (ip: number) => BLOCKED_V4.some(([net, bits]) => ip >>> (32 - bits) === net >>> (32 - bits));

/** An IPv6 literal (without brackets) as 8 16-bit groups, or null. */
export function parseV6(host: string): number[] | null {
  let s = host.toLowerCase();
  const zone = s.indexOf("%");
  if (zone >= 0) s = s.slice(0, zone);
  const lastColon = s.lastIndexOf(":");
  if (lastColon < 0) return null;
  const last = s.slice(lastColon + 1);
  if (last.includes(".")) {
    // A trailing dotted quad (::ffff:1.2.3.4) is two groups.
    const v4 = parseV4(last);
    if (v4 === null) return null;
    s = `${s.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const parse = (part: string) => (part === "" ? [] : part.split(":").map((g) => (/^[0-9a-f]{1,4}$/.test(g) ? parseInt(g, 16) : NaN)));
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  if ([...head, ...rest].some(Number.isNaN)) return null;
  if (halves.length === 1) return head.length === 8 ? head : null;
  const fill = 8 - head.length - rest.length;
  if (fill < 1) return null;
  return [...head, ...new Array<number>(fill).fill(0), ...rest];
}

export function v6Blocked(g: number[]): boolean {
  const first = g[0]!;
  // IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), unspecified and loopback: all under ::/80 + …
  if (g.slice(0, 5).every((x) => x === 0)) return true;
  // NAT64 (64:ff9b::/96): judged by the IPv4 address inside.
  if (first === 0x64 && g[1] === 0xff9b) return v4Blocked(((g[6]! << 16) | g[7]!) >>> 0);
  // 6to4 (2002::/16): judged by the IPv4 address inside.
  if (first === 0x2002) return v4Blocked(((g[1]! << 16) | g[2]!) >>> 0);
  // Only global unicast (2000::/3) is reachable; within it, Teredo/IETF (2001:0::/23) and documentation (2001:db8::/32) are not.
  if ((first & 0xe000) !== 0x2000) return true;
  if (first === 0x2001 && (g[1]! < 0x200 || g[1] === 0xdb8)) return true;
  return false;
}

export const FORBIDDEN_V4 = "a private, loopback, link-local, CGNAT, multicast or reserved IPv4 address";
export const FORBIDDEN_V6 = "a private, loopback, link-local, multicast or otherwise unreachable IPv6 address";

/**
 * Why the IP address `ip` (IPv4 dotted quad or IPv6, without brackets) may not be contacted, or
 * null when it is public unicast. An address that does not parse is refused too.
 */
export function forbiddenAddressReason(ip: string): string | null {
  const v4 = parseV4(ip);
  if (v4 !== null) return v4Blocked(v4) ? FORBIDDEN_V4 : null;
  const v6 = parseV6(ip);
  if (v6 !== null) return v6Blocked(v6) ? FORBIDDEN_V6 : null;
  return "not an IP address";
}

// ---------------------------------------------------------------------------------------------
// Resolution over DNS-over-HTTPS (the JSON API of cloudflare-dns.com and dns.google).
// ---------------------------------------------------------------------------------------------

export const DEFAULT_DOH_URL = "https://cloudflare-dns.com/dns-query";
/** Per query; the A and AAAA queries run together, so a check waits at most this long. */
export const DNS_TIMEOUT_MS = 3_000;

/**
 * What a name resolves to. `unresolvable`: the name has no address (NXDOMAIN, no A/AAAA records,
 * its servers fail): the owner of the name can fix it. `unavailable`: the resolver could not give
 * an answer (network error, timeout, HTTP error, malformed reply): ours, and worth retrying.
 * `addresses` holds every address seen, also when the other query failed.
 */
export type Resolution =
  | { status: "ok"; addresses: string[]; ttl?: number }
  | { status: "unresolvable"; message: string; addresses: string[] }
  | { status: "unavailable"; message: string; addresses: string[] };

export interface HostResolver {
  /** Every A and AAAA address of `host` (a DNS name, never an IP literal). */
  resolve(host: string): Promise<Resolution>;
}

export type Fetcher = (input: string, init: RequestInit) => Promise<Response>;

const RECORD_TYPES = { A: 1, AAAA: 28 } as const;
type RecordType = keyof typeof RECORD_TYPES;

// https://developers.cloudflare.com/1.1.1.1/encryption/dns-over-https/make-api-requests/dns-json/
const DohReply = z.object({
  Status: z.number().int(),
  Answer: z.array(z.object({ type: z.number().int(), data: z.string(), TTL: z.number().optional().catch(undefined) })).optional(),
});

const RCODES: Record<number, string> = { 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED" };

/** `ttl`: the shortest TTL (seconds) in the answer's chain, when the reply gave one. */
type QueryOutcome = { status: "ok"; addresses: string[]; ttl?: number } | { status: "unresolvable" | "unavailable"; message: string };

const minTtl = (ttls: (number | undefined)[]): number | undefined => (ttls.length && ttls.every((t) => t !== undefined) ? Math.min(...(ttls as number[])) : undefined);

/** One DoH JSON reply, judged: the addresses of `type` it carries, or why there are none. */
export function parseDohReply(host: string, type: RecordType, body: unknown): QueryOutcome {
  const r = DohReply.safeParse(body);
  if (!r.success) return { status: "unavailable", message: "the DNS resolver sent a malformed reply" };
  const { Status: rcode, Answer: answers = [] } = r.data;
  if (rcode === 3) return { status: "unresolvable", message: `${host} does not exist (NXDOMAIN)` };
  // SERVFAIL comes from the name's own servers (unreachable, lame, DNSSEC failure): the name's owner has to fix it.
  if (rcode === 2) return { status: "unresolvable", message: `${host} could not be resolved: its DNS servers fail (SERVFAIL)` };
  if (rcode !== 0) return { status: "unavailable", message: `the DNS resolver answered ${RCODES[rcode] ?? `rcode ${rcode}`}` };
  const addresses: string[] = [];
  for (const a of answers) {
    // CNAMEs (and anything else) in the chain are skipped: the addresses they lead to follow them.
    if (a.type !== RECORD_TYPES[type]) continue;
    const ok = type === "A" ? parseV4(a.data) !== null : parseV6(a.data) !== null;
    if (!ok) return { status: "unavailable", message: `the DNS resolver sent a malformed ${type} record` };
    addresses.push(a.data.toLowerCase());
  }
  const ttl = minTtl(answers.map((a) => a.TTL));
  return ttl === undefined ? { status: "ok", addresses } : { status: "ok", addresses, ttl };
}

/** Both queries' outcomes as one resolution. */
export function combine(host: string, outcomes: QueryOutcome[]): Resolution {
  const addresses = outcomes.flatMap((o) => (o.status === "ok" ? o.addresses : []));
  const unavailable = outcomes.find((o) => o.status === "unavailable");
  if (unavailable && unavailable.status !== "ok") return { status: "unavailable", message: unavailable.message, addresses };
  const unresolvable = outcomes.find((o) => o.status === "unresolvable");
  if (unresolvable && unresolvable.status !== "ok") return { status: "unresolvable", message: unresolvable.message, addresses };
  if (addresses.length === 0) return { status: "unresolvable", message: `${host} has no A or AAAA records`, addresses };
  // The pair is as fresh as its shorter-lived half; a query without records has nothing to expire.
  const ttl = minTtl(outcomes.flatMap((o) => (o.status === "ok" && o.addresses.length ? [o.ttl] : [])));
  return ttl === undefined ? { status: "ok", addresses } : { status: "ok", addresses, ttl };
}

export function dohResolver(opts: { endpoint?: string; fetch?: Fetcher; timeoutMs?: number } = {}): HostResolver {
  const endpoint = opts.endpoint || DEFAULT_DOH_URL;
  // Looked up at call time, so a stub installed later is the one used.
  const fetcher: Fetcher = opts.fetch ?? ((input, init) => fetch(input, init));
  const timeoutMs = opts.timeoutMs ?? DNS_TIMEOUT_MS;

  async function query(host: string, type: RecordType): Promise<QueryOutcome> {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      return { status: "unavailable", message: "the DNS-over-HTTPS endpoint is misconfigured" };
    }
    url.searchParams.set("name", host);
    url.searchParams.set("type", type);
    let res: Response;
    try {
      res = await fetcher(url.toString(), { headers: { accept: "application/dns-json" }, signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
      return { status: "unavailable", message: timedOut ? `the DNS resolver did not answer within ${timeoutMs / 1000} s` : "the DNS resolver could not be reached" };
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      return { status: "unavailable", message: `the DNS resolver answered HTTP ${res.status}` };
    }
    let body: unknown;
    try {
      body = await res.json();
    } catch {
      return { status: "unavailable", message: "the DNS resolver sent a malformed reply" };
    }
    return parseDohReply(host, type, body);
  }

  return {
    async resolve(host) {
      const outcomes = await Promise.all([query(host, "A"), query(host, "AAAA")]);
      return combine(host, outcomes);
    },
  };
}

/** How long a cached answer may be used at most, whatever its TTL says, and how many names are kept. */
export const DNS_CACHE_MAX_TTL_S = 60;
export const DNS_CACHE_MAX_ENTRIES = 100;

/**
 * A resolver that reuses an answer for its TTL (at most a minute), as a stub resolver would. The
 * queue consumer makes one per batch: twenty deliveries to one host then cost two DoH subrequests,
 * not forty (an invocation may make only 50 on the free plan), and a name re-pointed at a private
 * address is still caught by the next batch. Only answers with a TTL are kept; failures and
 * answers without one are asked again every time.
 */
export function cachingResolver(inner: HostResolver, opts: { now?: () => number; maxEntries?: number } = {}): HostResolver {
  const now = opts.now ?? Date.now;
  const maxEntries = opts.maxEntries ?? DNS_CACHE_MAX_ENTRIES;
  // A lookup in flight is shared too: a batch's deliveries start side by side.
  const cache = new Map<string, { until: number; resolution: Promise<Resolution> }>();
  return {
    resolve(host) {
      const key = host.toLowerCase();
      const hit = cache.get(key);
      if (hit && hit.until > now()) return hit.resolution;
      const entry = { until: Number.POSITIVE_INFINITY, resolution: inner.resolve(host) };
      cache.delete(key); // re-inserted last: the Map's order is the order of lookups
      cache.set(key, entry);
      // Oldest first out (a Map keeps insertion order).
      while (cache.size > maxEntries) cache.delete(cache.keys().next().value!);
      const settle = (r: Resolution | null) => {
        if (r?.status === "ok" && r.ttl !== undefined && r.ttl > 0) entry.until = now() + Math.min(r.ttl, DNS_CACHE_MAX_TTL_S) * 1000;
        else if (cache.get(key) === entry) cache.delete(key);
      };
      entry.resolution.then(settle, () => settle(null));
      return entry.resolution;
    },
  };
}

export interface DnsCheckSettings {
  /** `doh` (the default) or `off`: no lookups, for offline development only. */
  WEBHOOK_DNS_CHECK?: string;
  /** A DNS-over-HTTPS JSON endpoint; https://cloudflare-dns.com/dns-query when unset. */
  WEBHOOK_DOH_URL?: string;
}

/** The resolver the settings ask for; null when the check is off. Anything but `off` means doh (fail safe). */
export function resolverFromSettings(env: DnsCheckSettings, fetcher?: Fetcher): HostResolver | null {
  if ((env.WEBHOOK_DNS_CHECK ?? "").trim().toLowerCase() === "off") return null;
  return dohResolver({ endpoint: env.WEBHOOK_DOH_URL?.trim() || DEFAULT_DOH_URL, ...(fetcher ? { fetch: fetcher } : {}) });
}

/**
 * A name's verdict as a webhook target. `forbidden`: some address it resolves to is not public
 * (every answer counts: a client may connect to any of them).
 */
export type HostCheck =
  | { ok: true; addresses: string[] }
  | { ok: false; kind: "forbidden"; message: string; address: string }
  | { ok: false; kind: "unresolvable" | "unavailable"; message: string };

export async function checkHost(resolver: HostResolver, host: string): Promise<HostCheck> {
  const r = await resolver.resolve(host);
  // A forbidden address decides even when the other query failed.
  for (const address of r.addresses) {
    const why = forbiddenAddressReason(address);
    if (why) return { ok: false, kind: "forbidden", address, message: `${host} resolves to ${address}, ${why}` };
  }
  if (r.status !== "ok") return { ok: false, kind: r.status, message: r.message };
  return { ok: true, addresses: r.addresses };
}
