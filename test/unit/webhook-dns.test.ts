// Webhook targets' host check: address classification, DNS-over-HTTPS replies judged, the
// resolver's requests and failures, and the settings. No network: fetch is a stub throughout.
import { describe, expect, it } from "vitest";
import { cachingResolver, checkHost, combine, DEFAULT_DOH_URL, dohResolver, forbiddenAddressReason, parseDohReply, resolverFromSettings, type Fetcher, type HostResolver } from "../../src/worker/dns";
import { unsafeTargetReason } from "../../src/worker/webhooks";

const reply = (Status: number, answers: [number, string][] = []) => ({ Status, Answer: answers.map(([type, data]) => ({ name: "x", type, TTL: 60, data })) });

/** A DoH server over a table of name → records; records every request it gets. */
function fakeDoh(table: Record<string, { A?: string[]; AAAA?: string[]; rcode?: number }>) {
  const requests: { url: URL; accept: string | null }[] = [];
  const fetcher: Fetcher = async (input, init) => {
    const url = new URL(input);
    requests.push({ url, accept: new Headers(init.headers).get("accept") });
    const entry = table[url.searchParams.get("name") ?? ""];
    const type = url.searchParams.get("type") as "A" | "AAAA";
    if (!entry) return Response.json(reply(3));
    return Response.json(reply(entry.rcode ?? 0, (entry[type] ?? []).map((d) => [type === "A" ? 1 : 28, d])));
  };
  return { fetcher, requests };
}

describe("address classification", () => {
  it("refuses private, loopback, link-local, CGNAT, multicast, unspecified and reserved addresses", () => {
    for (const ip of ["127.0.0.1", "127.53.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.0.1", "169.254.169.254", "100.64.0.1", "100.127.255.255", "0.0.0.0", "224.0.0.251", "239.1.1.1", "255.255.255.255", "192.0.2.1", "198.51.100.7", "203.0.113.9", "198.18.0.1"]) {
      expect(forbiddenAddressReason(ip), ip).toMatch(/IPv4/);
    }
    for (const ip of ["::1", "::", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "fe80::1", "fc00::1", "fd00:abcd::1", "ff02::1", "64:ff9b::a9fe:a9fe", "2002:c0a8:0101::", "2001:db8::1", "2001::1"]) {
      expect(forbiddenAddressReason(ip), ip).toMatch(/IPv6/);
    }
  });

  it("passes public unicast, and refuses what is not an address", () => {
    for (const ip of ["93.184.215.14", "8.8.8.8", "1.1.1.1", "100.128.0.1", "172.32.0.1", "2606:4700:4700::1111", "2a00:1450:4001:80b::200e", "64:ff9b::808:808"]) {
      expect(forbiddenAddressReason(ip), ip).toBeNull();
    }
    for (const junk of ["", "localhost", "1.2.3", "1.2.3.256", "::g", "1::2::3"]) expect(forbiddenAddressReason(junk), junk).toBe("not an IP address");
  });
});

describe("DoH replies", () => {
  it("takes the records of the type asked for and skips the CNAME chain", () => {
    const body = reply(0, [
      [5, "edge.example.net."],
      [1, "93.184.215.14"],
      [1, "8.8.4.4"],
    ]);
    expect(parseDohReply("hooks.example.com", "A", body)).toEqual({ status: "ok", addresses: ["93.184.215.14", "8.8.4.4"], ttl: 60 });
    expect(parseDohReply("hooks.example.com", "AAAA", reply(0, [[28, "2606:4700::6810:85E5"]]))).toEqual({ status: "ok", addresses: ["2606:4700::6810:85e5"], ttl: 60 });
    expect(parseDohReply("hooks.example.com", "AAAA", reply(0))).toEqual({ status: "ok", addresses: [] });
    expect(parseDohReply("hooks.example.com", "A", { Status: 0 })).toEqual({ status: "ok", addresses: [] });
  });

  it("NXDOMAIN and SERVFAIL are the name's to fix; other codes and malformed replies are the resolver's", () => {
    expect(parseDohReply("nope.example.com", "A", reply(3))).toEqual({ status: "unresolvable", message: "nope.example.com does not exist (NXDOMAIN)" });
    expect(parseDohReply("broken.example.com", "A", reply(2))).toMatchObject({ status: "unresolvable", message: expect.stringMatching(/SERVFAIL/) });
    expect(parseDohReply("x.example.com", "A", reply(5))).toMatchObject({ status: "unavailable", message: expect.stringMatching(/REFUSED/) });
    for (const junk of [null, "ok", { Answer: [] }, { Status: "0" }, { Status: 0, Answer: [{ type: 1 }] }]) {
      expect(parseDohReply("x.example.com", "A", junk), JSON.stringify(junk)).toMatchObject({ status: "unavailable" });
    }
    // An A record that is not an IPv4 address (or an AAAA that is not IPv6) is not trusted.
    expect(parseDohReply("x.example.com", "A", reply(0, [[1, "::1"]]))).toMatchObject({ status: "unavailable" });
    expect(parseDohReply("x.example.com", "AAAA", reply(0, [[28, "127.0.0.1"]]))).toMatchObject({ status: "unavailable" });
  });

  it("combines the A and AAAA outcomes: the resolver's failure first, then the name's, then no records", () => {
    const ok = (...addresses: string[]) => ({ status: "ok" as const, addresses });
    expect(combine("h.example.com", [ok("8.8.8.8"), ok("2606:4700::1")])).toEqual({ status: "ok", addresses: ["8.8.8.8", "2606:4700::1"] });
    expect(combine("h.example.com", [ok("8.8.8.8"), ok()])).toEqual({ status: "ok", addresses: ["8.8.8.8"] });
    expect(combine("h.example.com", [ok(), ok()])).toEqual({ status: "unresolvable", message: "h.example.com has no A or AAAA records", addresses: [] });
    expect(combine("h.example.com", [ok("8.8.8.8"), { status: "unavailable", message: "down" }])).toEqual({ status: "unavailable", message: "down", addresses: ["8.8.8.8"] });
    expect(combine("h.example.com", [{ status: "unresolvable", message: "gone" }, { status: "unavailable", message: "down" }])).toMatchObject({ status: "unavailable" });
    expect(combine("h.example.com", [{ status: "unresolvable", message: "gone" }, ok()])).toMatchObject({ status: "unresolvable", message: "gone" });
  });
});

describe("the DoH resolver", () => {
  it("asks for A and AAAA as application/dns-json at the configured endpoint", async () => {
    const doh = fakeDoh({ "hooks.example.com": { A: ["93.184.215.14"], AAAA: ["2606:2800:21f:cb07:6820:80da:af6b:8b2c"] } });
    const r = await dohResolver({ endpoint: "https://dns.example.net/resolve", fetch: doh.fetcher }).resolve("hooks.example.com");
    expect(r).toEqual({ status: "ok", addresses: ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"], ttl: 60 });
    expect(doh.requests.map((q) => `${q.url.origin}${q.url.pathname} ${q.url.searchParams.get("name")} ${q.url.searchParams.get("type")} ${q.accept}`).sort()).toEqual([
      "https://dns.example.net/resolve hooks.example.com A application/dns-json",
      "https://dns.example.net/resolve hooks.example.com AAAA application/dns-json",
    ]);
  });

  it("a network error, an HTTP error, a non-JSON body or a timeout is `unavailable`", async () => {
    const failing: Fetcher[] = [
      async () => {
        throw new TypeError("fetch failed");
      },
      async () => new Response("bad gateway", { status: 502 }),
      async () => new Response("<html>", { status: 200 }),
      // Never answers: only the timeout ends it.
      (_input, init) => new Promise((_resolve, reject) => init.signal!.addEventListener("abort", () => reject(init.signal!.reason))),
    ];
    for (const f of failing) {
      const r = await dohResolver({ fetch: f, timeoutMs: 20 }).resolve("hooks.example.com");
      expect(r.status).toBe("unavailable");
    }
    const timedOut = await dohResolver({ fetch: failing[3]!, timeoutMs: 20 }).resolve("hooks.example.com");
    expect(timedOut).toMatchObject({ message: "the DNS resolver did not answer within 0.02 s" });
    const misconfigured = await dohResolver({ endpoint: "not a url", fetch: failing[0]! }).resolve("hooks.example.com");
    expect(misconfigured).toMatchObject({ status: "unavailable", message: expect.stringMatching(/misconfigured/) });
  });

  it("checkHost refuses a name if any of its addresses is not public, even when the other query failed", async () => {
    const doh = fakeDoh({
      "127.0.0.1.nip.io": { A: ["127.0.0.1"] },
      "mixed.example.com": { A: ["93.184.215.14", "10.0.0.5"], AAAA: ["2606:4700::1"] },
      "v6loop.example.com": { A: ["93.184.215.14"], AAAA: ["::1"] },
      "public.example.com": { A: ["93.184.215.14"], AAAA: ["2606:4700::1"] },
      "empty.example.com": {},
      "broken.example.com": { rcode: 2 },
    });
    const resolver = dohResolver({ fetch: doh.fetcher });
    expect(await checkHost(resolver, "127.0.0.1.nip.io")).toMatchObject({ ok: false, kind: "forbidden", address: "127.0.0.1", message: expect.stringMatching(/^127\.0\.0\.1\.nip\.io resolves to 127\.0\.0\.1, a private, loopback/) });
    expect(await checkHost(resolver, "mixed.example.com")).toMatchObject({ ok: false, kind: "forbidden", address: "10.0.0.5" });
    expect(await checkHost(resolver, "v6loop.example.com")).toMatchObject({ ok: false, kind: "forbidden", address: "::1" });
    expect(await checkHost(resolver, "public.example.com")).toEqual({ ok: true, addresses: ["93.184.215.14", "2606:4700::1"] });
    expect(await checkHost(resolver, "nowhere.example.com")).toMatchObject({ ok: false, kind: "unresolvable", message: expect.stringMatching(/NXDOMAIN/) });
    expect(await checkHost(resolver, "empty.example.com")).toMatchObject({ ok: false, kind: "unresolvable", message: expect.stringMatching(/no A or AAAA/) });
    expect(await checkHost(resolver, "broken.example.com")).toMatchObject({ ok: false, kind: "unresolvable", message: expect.stringMatching(/SERVFAIL/) });
    const halfDown: HostResolver = { resolve: async () => ({ status: "unavailable", message: "AAAA timed out", addresses: ["169.254.169.254"] }) };
    expect(await checkHost(halfDown, "meta.example.com")).toMatchObject({ ok: false, kind: "forbidden", address: "169.254.169.254" });
    const down: HostResolver = { resolve: async () => ({ status: "unavailable", message: "AAAA timed out", addresses: ["93.184.215.14"] }) };
    expect(await checkHost(down, "hooks.example.com")).toEqual({ ok: false, kind: "unavailable", message: "AAAA timed out" });
  });
});

describe("caching answers for their TTL", () => {
  it("the shortest TTL of the chain, and of the A and AAAA answers together, is the answer's", () => {
    const chain = { Status: 0, Answer: [{ type: 5, data: "edge.example.net.", TTL: 30 }, { type: 1, data: "8.8.8.8", TTL: 300 }] };
    expect(parseDohReply("h.example.com", "A", chain)).toMatchObject({ ttl: 30 });
    expect(parseDohReply("h.example.com", "A", { Status: 0, Answer: [{ type: 1, data: "8.8.8.8" }] })).not.toHaveProperty("ttl");
    const ok = (ttl: number, ...addresses: string[]) => ({ status: "ok" as const, addresses, ttl });
    expect(combine("h.example.com", [ok(300, "8.8.8.8"), ok(20, "2606:4700::1")])).toEqual({ status: "ok", addresses: ["8.8.8.8", "2606:4700::1"], ttl: 20 });
    // An empty AAAA answer has nothing to expire; the A answer's TTL stands.
    expect(combine("h.example.com", [ok(300, "8.8.8.8"), ok(5)])).toMatchObject({ ttl: 300 });
  });

  it("reuses an answer until its TTL (at most a minute) runs out; failures and answers without a TTL are asked again", async () => {
    let now = 1_000_000;
    const answers: Record<string, () => Awaited<ReturnType<HostResolver["resolve"]>>> = {
      "short.example.com": () => ({ status: "ok", addresses: ["8.8.8.8"], ttl: 10 }),
      "long.example.com": () => ({ status: "ok", addresses: ["8.8.4.4"], ttl: 86_400 }),
      "nottl.example.com": () => ({ status: "ok", addresses: ["1.1.1.1"] }),
      "zero.example.com": () => ({ status: "ok", addresses: ["1.1.1.1"], ttl: 0 }),
      "down.example.com": () => ({ status: "unavailable", message: "down", addresses: [] }),
      "gone.example.com": () => ({ status: "unresolvable", message: "gone", addresses: [] }),
    };
    const asked: string[] = [];
    const inner: HostResolver = { resolve: async (h) => (asked.push(h), answers[h]!()) };
    const r = cachingResolver(inner, { now: () => now });
    const count = (h: string) => asked.filter((x) => x === h).length;
    for (const h of Object.keys(answers)) for (let k = 0; k < 3; k++) await r.resolve(h);
    expect(Object.fromEntries(Object.keys(answers).map((h) => [h, count(h)]))).toEqual({
      "short.example.com": 1,
      "long.example.com": 1,
      "nottl.example.com": 3,
      "zero.example.com": 3,
      "down.example.com": 3,
      "gone.example.com": 3,
    });
    expect(await r.resolve("SHORT.example.com")).toEqual({ status: "ok", addresses: ["8.8.8.8"], ttl: 10 });
    expect(count("short.example.com")).toBe(1);
    now += 10_001;
    await r.resolve("short.example.com");
    expect(count("short.example.com")).toBe(2);
    // A day's TTL is used for a minute.
    now += 50_000;
    await r.resolve("long.example.com");
    expect(count("long.example.com")).toBe(2);
  });

  it("lookups of one name in flight together are one lookup", async () => {
    let calls = 0;
    let answer!: (r: Awaited<ReturnType<HostResolver["resolve"]>>) => void;
    const r = cachingResolver({ resolve: () => (calls++, new Promise((resolve) => (answer = resolve))) });
    const pending = [r.resolve("a.example.com"), r.resolve("a.example.com"), r.resolve("A.EXAMPLE.COM")];
    answer({ status: "ok", addresses: ["8.8.8.8"], ttl: 0 });
    expect(await Promise.all(pending)).toEqual(Array(3).fill({ status: "ok", addresses: ["8.8.8.8"], ttl: 0 }));
    expect(calls).toBe(1);
    // A zero TTL is not kept once answered: the next lookup asks again.
    const next = r.resolve("a.example.com");
    answer({ status: "ok", addresses: ["8.8.8.8"], ttl: 0 });
    await next;
    expect(calls).toBe(2);
  });

  it("keeps at most maxEntries names, dropping the oldest", async () => {
    const asked: string[] = [];
    const r = cachingResolver({ resolve: async (h) => (asked.push(h), { status: "ok", addresses: ["8.8.8.8"], ttl: 60 }) }, { maxEntries: 2 });
    for (const h of ["a.example.com", "b.example.com", "c.example.com", "c.example.com", "b.example.com", "a.example.com"]) await r.resolve(h);
    expect(asked).toEqual(["a.example.com", "b.example.com", "c.example.com", "a.example.com"]);
  });
});

describe("settings", () => {
  it("doh unless WEBHOOK_DNS_CHECK is off; WEBHOOK_DOH_URL picks the endpoint", async () => {
    expect(resolverFromSettings({ WEBHOOK_DNS_CHECK: "off" })).toBeNull();
    expect(resolverFromSettings({ WEBHOOK_DNS_CHECK: " OFF " })).toBeNull();
    for (const mode of [undefined, "", "doh", "typo"]) {
      const doh = fakeDoh({ "hooks.example.com": { A: ["8.8.8.8"] } });
      const r = resolverFromSettings({ WEBHOOK_DNS_CHECK: mode }, doh.fetcher);
      expect(r, String(mode)).not.toBeNull();
      await r!.resolve("hooks.example.com");
      expect(doh.requests[0]!.url.href.startsWith(`${DEFAULT_DOH_URL}?`)).toBe(true);
    }
    const doh = fakeDoh({});
    await resolverFromSettings({ WEBHOOK_DOH_URL: "https://dns.google/resolve" }, doh.fetcher)!.resolve("a.example.com");
    expect(doh.requests.every((q) => q.url.href.startsWith("https://dns.google/resolve?"))).toBe(true);
  });
});

describe("target URLs without DNS", () => {
  it("refuses raw whitespace and control characters, and hosts that are not DNS names", () => {
    for (const url of ["https://example.com/\nx", "https://example.com/\rx", "https://exa\tmple.com/x", "https://example.com/a b", " https://example.com/x", "https://example.com/x\u0000", "https://example.com/\u007f", "https://example.com/\u0085", "https://example.com/\u2028"]) {
      expect(unsafeTargetReason(url), JSON.stringify(url)).toBe("the URL must not contain whitespace or control characters");
    }
    expect(unsafeTargetReason("https://a..b.com/x")).toBe("the URL's host is not a valid DNS name");
    expect(unsafeTargetReason(`https://${"a".repeat(64)}.com/x`)).toBe("the URL's host is not a valid DNS name");
    for (const ok of ["https://hooks.example.com/x?a=%0A", "https://xn--bcher-kva.example.com/x", "https://my_host.example.com/x", "https://8.8.8.8/x"]) expect(unsafeTargetReason(ok), ok).toBeNull();
  });
});
