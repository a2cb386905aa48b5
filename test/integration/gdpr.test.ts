// The GDPR gaps of issue 6: a participant's data as a ZIP (audio, CSV, a manifest whose SHA-256s
// match what is inside), consent recorded with its text version, time and client address,
// withdrawal mid-interview ends the session and deletes its recordings, and erasure also removes
// bulk exports that held the participant — leaving no canary anywhere.
import { env, exports } from "cloudflare:workers";
import { strFromU8, unzipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { ERASED_EXPORT } from "../../src/worker/erasure";
import { BASE, randomClientIp } from "../helpers/api";
import { call, createOrg, waitFor } from "../helpers/fixtures";
import { audioObjects, sessionRow, sessionWithEverything, speak, voiceInterview } from "../helpers/privacy";
import { sessionStub, until } from "../helpers/session";

const hex = (b: ArrayBuffer) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, "0")).join("");

async function fetchBytes(path: string, key?: string) {
  const headers: Record<string, string> = { "CF-Connecting-IP": randomClientIp() };
  if (key) headers.Authorization = `Bearer ${key}`;
  const res = await exports.default.fetch(new Request(path.startsWith("http") ? path : `${BASE}${path}`, { headers }));
  return { status: res.status, headers: res.headers, bytes: new Uint8Array(await res.arrayBuffer()) };
}

async function readyExport(key: string, campaignId: string, sessionIds: string[]) {
  const r = await call("POST", `/v1/campaigns/${campaignId}/exports`, { key, body: { format: "json", sessionIds } });
  expect(r.status, r.text).toBe(202);
  return waitFor(
    async () => (await call("GET", `/v1/exports/${r.json.id}`, { key })).json,
    (j) => j?.status === "ready" || j?.status === "failed",
    `export ${r.json.id} ready`,
    30_000,
  );
}

describe("participant data as a ZIP", () => {
  it("holds each session's JSON, CSV and recording, and a manifest whose hashes match every file", async () => {
    const { apiKey } = await createOrg();
    const email = "zip.person@example.com";
    const a = await sessionWithEverything(apiKey.key, { participant: { email }, words: "alpha" });
    const b = await sessionWithEverything(apiKey.key, { participant: { email: "someone.else@example.com" }, words: "beta" });

    const res = await fetchBytes(`/v1/participants/data?email=${encodeURIComponent("Zip.Person@example.com")}&format=zip`, apiKey.key);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("application/zip");
    expect(res.headers.get("Cache-Control")).toBe("private, no-store");
    const files = unzipSync(res.bytes);
    expect(Object.keys(files).sort()).toEqual(
      [`${a.sessionId}/session.json`, `${a.sessionId}/transcript.csv`, `${a.sessionId}/audio-participant.wav`, "participant.json", "manifest.json"].sort(),
    );
    const manifest = JSON.parse(strFromU8(files["manifest.json"]!));
    expect(manifest).toMatchObject({ email, sessionCount: 1 });
    expect(manifest.files.map((f: any) => f.path).sort()).toEqual(Object.keys(files).filter((p) => p !== "manifest.json").sort());
    for (const f of manifest.files) {
      const data = files[f.path]!;
      expect(f.bytes, f.path).toBe(data.length);
      expect(f.sha256, f.path).toBe(hex(await crypto.subtle.digest("SHA-256", data)));
    }
    const wav = files[`${a.sessionId}/audio-participant.wav`]!;
    expect(strFromU8(wav.subarray(0, 4))).toBe("RIFF");
    expect(strFromU8(wav.subarray(8, 12))).toBe("WAVE");
    expect(wav.length).toBe(44 + 32_000); // one second of 16 kHz 16-bit mono
    expect(strFromU8(files[`${a.sessionId}/transcript.csv`]!)).toContain("alpha");
    const json = JSON.parse(strFromU8(files["participant.json"]!));
    expect(json.sessions.map((s: any) => s.session.id)).toEqual([a.sessionId]);
    expect(JSON.stringify(json)).not.toContain("beta");
    expect(JSON.stringify(json)).not.toContain(b.sessionId);

    expect((await fetchBytes(`/v1/participants/data?email=${encodeURIComponent(email)}&format=tar`, apiKey.key)).status).toBe(400);
  }, 90_000);
});

describe("consent", () => {
  it("is recorded with the text's version, the time and the client address; withdrawing it ends the session and deletes the recordings", async () => {
    const { apiKey } = await createOrg();
    const i = await voiceInterview(apiKey.key, {}, { "CF-Connecting-IP": "203.0.113.77" });
    await speak(i.ws, "v0", "I would rather not say more.");
    await until(async () => (await audioObjects(i.sessionId)) > 0, "the recording in R2", 10_000);
    // The team listened as MP3: a stored MP3 joins the chunks, and must go with them.
    expect((await fetchBytes(`/v1/sessions/${i.sessionId}/audio?format=mp3`, apiKey.key)).status).toBe(200);
    expect((await env.AUDIO_BUCKET.list({ prefix: `sessions/${i.sessionId}/audio/mp3/` })).objects.length).toBeGreaterThan(0);

    const t = await call("GET", `/v1/sessions/${i.sessionId}/transcript`, { key: apiKey.key });
    const granted = t.json.events.find((e: any) => e.type === "consent_granted");
    const textVersion = `sha256:${hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode("We record this interview."))).slice(0, 16)}`;
    expect(granted.data).toEqual({ textVersion, ip: "203.0.113.77" });
    expect(Date.parse(granted.at)).toBeGreaterThan(Date.now() - 60_000);
    const s1 = await call("GET", `/v1/sessions/${i.sessionId}`, { key: apiKey.key });
    expect(s1.json.consent).toMatchObject({ required: true, granted: true, at: expect.any(String) });

    const from = i.ws.frames.length;
    i.ws.send({ type: "consent", granted: false });
    const ended = await i.ws.next((f) => f.type === "ended", "the end after withdrawal", from);
    expect(ended).toMatchObject({ status: "abandoned", reason: "consent_withdrawn" });
    await until(async () => (await audioObjects(i.sessionId)) === 0, "the recording deleted from R2", 10_000);
    await until(async () => (await sessionRow(i.sessionId))?.status === "abandoned", "the index shows the end", 5_000);
    expect((await sessionRow(i.sessionId))!.audio_purged_at).not.toBeNull();
    const audio = await call("GET", `/v1/sessions/${i.sessionId}/audio`, { key: apiKey.key });
    expect(audio.status).toBe(404);
    const after = await call("GET", `/v1/sessions/${i.sessionId}/transcript`, { key: apiKey.key });
    expect(after.json.events.find((e: any) => e.type === "consent_withdrawn").data).toEqual({ textVersion, ip: "203.0.113.77" });
    expect(after.json.events.find((e: any) => e.type === "audio_purged").data).toMatchObject({ reason: "consent_withdrawn", objects: expect.any(Number) });
    // The key is gone too: nothing left to decrypt any copy with.
    const manifest = await sessionStub(i.sessionId).audioManifest("participant");
    expect(manifest.ok && manifest.value.wrappedKey).toBe(null);
  }, 60_000);
});

describe("erasure and bulk exports", () => {
  it("removes every export holding the participant, keeps the others, and leaves 0 canary hits", async () => {
    const CANARY = "quokkacanary";
    const { apiKey } = await createOrg();
    const key = apiKey.key;
    const mine = await sessionWithEverything(key, { participant: { email: `${CANARY}@example.com`, name: `Ms ${CANARY}` }, words: CANARY });
    const theirs = await sessionWithEverything(key, { participant: { email: "keeper@example.com" }, words: "keeperword" });
    await call("POST", `/v1/sessions/${mine.sessionId}/notes`, { key, body: { text: `note on ${CANARY}` } });
    const withMine = await readyExport(key, mine.campaignId, [mine.sessionId]);
    const withoutMine = await readyExport(key, theirs.campaignId, [theirs.sessionId]);
    expect([withMine.status, withoutMine.status]).toEqual(["ready", "ready"]);
    expect(await env.EXPORTS_BUCKET.head(`exports/${withMine.id}.zip`)).not.toBeNull();

    // A session that is not the participant's in this org is 404, and nothing is erased: another
    // participant's session here, another org's, and one that does not exist.
    const other = await createOrg();
    const elsewhere = await sessionWithEverything(other.apiKey.key, { participant: { email: "elsewhere@example.com" }, words: "elsewhere" });
    for (const sessionId of [theirs.sessionId, elsewhere.sessionId, "ses_zzzzzzzzzzzzzzzz"]) {
      const r = await call("DELETE", `/v1/participants/data?email=${encodeURIComponent(`${CANARY}@example.com`)}&sessionId=${sessionId}`, { key, headers: { "X-Confirm-Delete": "true" } });
      expect(r.status, sessionId).toBe(404);
      expect(r.json.error.code).toBe("NOT_FOUND");
    }
    expect((await sessionStub(elsewhere.sessionId).transcript()).ok).toBe(true);
    expect((await sessionStub(theirs.sessionId).transcript()).ok).toBe(true);

    const receipt = await call("DELETE", `/v1/participants/data?email=${encodeURIComponent(`${CANARY}@example.com`)}`, { key, headers: { "X-Confirm-Delete": "true" } });
    expect(receipt.status).toBe(200);
    expect(receipt.json.exportsRemoved).toEqual([withMine.id]);

    expect(await env.EXPORTS_BUCKET.head(`exports/${withMine.id}.zip`)).toBeNull();
    const gone = await call("GET", `/v1/exports/${withMine.id}`, { key });
    expect(gone.json).toMatchObject({ status: "failed", error: ERASED_EXPORT });
    expect(gone.json.downloadUrl).toBeUndefined();
    // Its old link says why it is gone, rather than that the link expired (a new one would not help).
    const link = await call("GET", withMine.downloadUrl.slice(withMine.downloadUrl.indexOf("/v1/")));
    expect(link.status).toBe(410);
    expect(link.json.error).toMatchObject({ code: "EXPORT_GONE", message: expect.stringContaining("deleted") });
    // The other export is untouched and still downloads.
    expect((await fetchBytes(withoutMine.downloadUrl)).status).toBe(200);

    // 0 canary hits: D1 (every table), the session object, R2 audio and every export still stored.
    const tables = (await env.DB.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name NOT LIKE 'd1_%'").all<{ name: string }>()).results;
    const hits: string[] = [];
    for (const { name } of tables) {
      const rows = await env.DB.prepare(`SELECT * FROM ${name}`).all<Record<string, unknown>>();
      for (const r of rows.results) if (JSON.stringify(r).toLowerCase().includes(CANARY)) hits.push(`${name}: ${JSON.stringify(r).slice(0, 100)}`);
    }
    expect((await sessionStub(mine.sessionId).transcript()).ok).toBe(false);
    expect(await audioObjects(mine.sessionId)).toBe(0);
    for (const o of (await env.EXPORTS_BUCKET.list({ prefix: "exports/" })).objects) {
      const files = unzipSync(new Uint8Array(await (await env.EXPORTS_BUCKET.get(o.key))!.arrayBuffer()));
      for (const [path, data] of Object.entries(files)) if (strFromU8(data).toLowerCase().includes(CANARY)) hits.push(`${o.key}/${path}`);
    }
    expect(hits).toEqual([]);
    // The other participant is all there.
    expect(JSON.stringify((await call("GET", `/v1/sessions/${theirs.sessionId}/transcript`, { key })).json)).toContain("keeperword");
  }, 120_000);
});
