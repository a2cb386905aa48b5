// The MP3 of a recording: encoded once per version of the track, kept encrypted in R2 under the
// session's audio prefix and served from there in ranges; a track that changes gets a new one; the
// erasure, its ledger replay and the audio purge leave none behind.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { concat, encodeMp3, parseWav, samplesOf } from "../../src/audio/pcm";
import { importKek, newWrappedDataKey, openObject, sealObject, unwrapDataKey } from "../../src/shared/audio-crypto";
import { DAY_MS } from "../../src/shared/retention";
import { MP3_SEGMENT_BYTES, storedMp3 } from "../../src/worker/audio-mp3";
import { openTrack } from "../../src/worker/audio-track";
import { sweepRetention } from "../../src/worker/retention";
import { SPEECH_TEXT, speechPcm } from "../fixtures/audio";
import { call, createOrg } from "../helpers/api";
import { sessionWithEverything } from "../helpers/privacy";
import { sessionStub, until } from "../helpers/session";
import { fetchAudio, speak, spokenSegments, storedMp3s, stream, voiceSession } from "../helpers/voice";

/** About 25 s of speech: an MP3 of three segments, so ranges cross segment boundaries. */
const longPcm = () => concat(Array.from({ length: 7 }, speechPcm));

/** What the track's MP3 must be: the served WAV's samples through the encoder in one go. */
async function expectedMp3(sessionId: string, key: string) {
  const wav = await fetchAudio(sessionId, key);
  expect(wav.status).toBe(200);
  return encodeMp3(samplesOf(parseWav(wav.bytes)!.data.slice()));
}

/** A stored MP3 decrypted as its own format says: segments sealed with the session's key, each bound to key, index and count. */
async function decryptStored(sessionId: string, objectKey: string) {
  const m = await sessionStub(sessionId).audioManifest("participant");
  if (!m.ok || !m.value.wrappedKey) throw new Error("no audio key");
  const dek = await unwrapDataKey(await importKek(env.AUDIO_KEK), m.value.wrappedKey);
  const sealed = new Uint8Array(await (await env.AUDIO_BUCKET.get(objectKey))!.arrayBuffer());
  const step = MP3_SEGMENT_BYTES + 32;
  const n = Math.ceil(sealed.length / step);
  const parts: Uint8Array[] = [];
  for (let i = 0; i < n; i++) parts.push(await openObject(dek, `${objectKey}#${i}/${n}`, sealed.subarray(i * step, (i + 1) * step)));
  return { dek, sealed, n, plain: concat(parts) };
}

const auditedReads = async (sessionId: string) =>
  (await env.DB.prepare("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'audio.read' AND resource_id = ?").bind(sessionId).first<{ n: number }>())!.n;

describe("the MP3 of a recording", () => {
  it("is encoded once, kept encrypted under the session's audio prefix, and served from there in ranges; every read audited", async () => {
    const s = await voiceSession();
    await speak(s.ws, "v1", longPcm(), SPEECH_TEXT);
    await spokenSegments(s.sessionId, s.key, 1);
    const expected = await expectedMp3(s.sessionId, s.key);
    expect(expected.length).toBeGreaterThan(2 * MP3_SEGMENT_BYTES);
    expect(await storedMp3s(s.sessionId)).toEqual([]);

    // Two first requests at once: both get the same file, and one object is left.
    const [a, b] = await Promise.all([fetchAudio(s.sessionId, s.key, { format: "mp3" }), fetchAudio(s.sessionId, s.key, { format: "mp3" })]);
    for (const r of [a, b]) {
      expect(r.status).toBe(200);
      expect(r.headers.get("Content-Type")).toBe("audio/mpeg");
      expect(r.headers.get("Accept-Ranges")).toBe("bytes");
      expect(r.headers.get("Cache-Control")).toBe("private, no-store");
      expect(r.headers.get("Content-Length")).toBe(String(expected.length));
      expect(Buffer.from(r.bytes).equals(Buffer.from(expected))).toBe(true);
    }
    const etag = a.headers.get("ETag")!;
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(b.headers.get("ETag")).toBe(etag);
    const stored = await storedMp3s(s.sessionId);
    expect(stored).toHaveLength(1);
    const object = stored[0]!;
    expect(object.key).toBe(`sessions/${s.sessionId}/audio/mp3/participant/${etag.slice(1, -1)}.mp3`);

    // At rest it is ciphertext under the session's key: no run of the MP3 in it, another key opens nothing.
    const { sealed, n, plain } = await decryptStored(s.sessionId, object.key);
    expect(n).toBe(3);
    expect(new TextDecoder().decode(sealed.subarray(0, 4))).toBe("IRA1");
    expect(Buffer.from(plain).equals(Buffer.from(expected))).toBe(true);
    expect(Buffer.from(sealed).includes(Buffer.from(expected.subarray(5000, 5064)))).toBe(false);
    const otherKey = await unwrapDataKey(await importKek(env.AUDIO_KEK), await newWrappedDataKey(await importKek(env.AUDIO_KEK)));
    await expect(openObject(otherKey, `${object.key}#0/3`, sealed.subarray(0, MP3_SEGMENT_BYTES + 32))).rejects.toThrow();

    // Ranges, as a player asks while seeking: across segment boundaries, open-ended, a suffix, one byte.
    const total = expected.length;
    const ranges: [string, number, number][] = [
      [`bytes=${MP3_SEGMENT_BYTES - 10}-${MP3_SEGMENT_BYTES + 9}`, MP3_SEGMENT_BYTES - 10, MP3_SEGMENT_BYTES + 9],
      [`bytes=100-${2 * MP3_SEGMENT_BYTES + 500}`, 100, 2 * MP3_SEGMENT_BYTES + 500],
      [`bytes=${total - 1000}-`, total - 1000, total - 1],
      ["bytes=-300", total - 300, total - 1],
      ["bytes=0-0", 0, 0],
      [`bytes=${2 * MP3_SEGMENT_BYTES}-${total + 5000}`, 2 * MP3_SEGMENT_BYTES, total - 1],
    ];
    for (const [header, start, end] of ranges) {
      const r = await fetchAudio(s.sessionId, s.key, { format: "mp3", headers: { Range: header } });
      expect(r.status, header).toBe(206);
      expect(r.headers.get("Content-Range"), header).toBe(`bytes ${start}-${end}/${total}`);
      expect(r.headers.get("Content-Length"), header).toBe(String(end - start + 1));
      expect(r.headers.get("ETag")).toBe(etag);
      expect(Buffer.from(r.bytes).equals(Buffer.from(expected.subarray(start, end + 1))), header).toBe(true);
    }
    const outside = await fetchAudio(s.sessionId, s.key, { format: "mp3", headers: { Range: `bytes=${total}-` } });
    expect(outside.status).toBe(416);
    expect(outside.headers.get("Content-Range")).toBe(`bytes */${total}`);
    // If-Range: the range holds for the version the client has, and the whole file comes for any other.
    const same = await fetchAudio(s.sessionId, s.key, { format: "mp3", headers: { Range: "bytes=10-19", "If-Range": etag } });
    expect(same.status).toBe(206);
    expect(Buffer.from(same.bytes).equals(Buffer.from(expected.subarray(10, 20)))).toBe(true);
    for (const other of ['"0123456789abcdef0123456789abcdef"', "Wed, 21 Oct 2015 07:28:00 GMT"]) {
      const r = await fetchAudio(s.sessionId, s.key, { format: "mp3", headers: { Range: "bytes=10-19", "If-Range": other } });
      expect(r.status, other).toBe(200);
      expect(r.bytes.length).toBe(total);
    }

    // None of that encoded again: the one object is the one first written.
    const after = await storedMp3s(s.sessionId);
    expect(after.map((o) => [o.key, o.etag, o.uploaded.getTime()])).toEqual([[object.key, object.etag, object.uploaded.getTime()]]);
    // And what is served is that object: a (validly sealed) change to it shows in the response.
    const { dek } = await decryptStored(s.sessionId, object.key);
    const first = expected.slice(0, MP3_SEGMENT_BYTES);
    first.set(new TextEncoder().encode("TEST"), 0);
    const tampered = concat([await sealObject(dek, `${object.key}#0/3`, first), sealed.subarray(MP3_SEGMENT_BYTES + 32)]);
    await env.AUDIO_BUCKET.put(object.key, tampered);
    const head = await fetchAudio(s.sessionId, s.key, { format: "mp3", headers: { Range: "bytes=0-3" } });
    expect(new TextDecoder().decode(head.bytes)).toBe("TEST");

    // Every read is audited, whether it encoded or read the stored copy: the WAV, the 2 first,
    // the ranges, the 3 If-Range and the last (the 416 read nothing and, as every error, is not).
    await expect.poll(() => auditedReads(s.sessionId), { timeout: 5000 }).toBe(1 + 2 + ranges.length + 3 + 1);
  }, 60_000);

  it("follows the track: an answer the session's end cut off is in the next MP3, and the older version goes", async () => {
    const s = await voiceSession();
    await speak(s.ws, "v1", speechPcm(), SPEECH_TEXT);
    await spokenSegments(s.sessionId, s.key, 1);
    const before = await fetchAudio(s.sessionId, s.key, { format: "mp3" });
    expect(before.status).toBe(200);
    const oldTag = before.headers.get("ETag")!;
    expect(await storedMp3s(s.sessionId)).toHaveLength(1);

    // The second answer is cut off by the team ending the interview mid-answer.
    await s.ws.next((f) => f.type === "question" && f.index === 1, "the second question", 0, 10_000);
    s.ws.send({ type: "answer_start", id: "v2" });
    await s.ws.next((f) => f.type === "audio_ack" && f.id === "v2", "audio_ack of v2");
    stream(s.ws, speechPcm());
    await s.ws.next((f) => f.type === "audio_ack" && f.id === "v2" && f.bytes > 0, "some of v2 durable", 0, 10_000);
    expect((await call("POST", `/v1/sessions/${s.sessionId}/end`, { key: s.key })).status).toBe(200);
    await spokenSegments(s.sessionId, s.key, 2);

    const expected = await expectedMp3(s.sessionId, s.key);
    expect(expected.length).toBeGreaterThan(before.bytes.length);
    const now = await fetchAudio(s.sessionId, s.key, { format: "mp3" });
    expect(now.headers.get("ETag")).not.toBe(oldTag);
    expect(Buffer.from(now.bytes).equals(Buffer.from(expected))).toBe(true);
    // A range against the old version gets the whole new file, not a slice of something else.
    const stale = await fetchAudio(s.sessionId, s.key, { format: "mp3", headers: { Range: "bytes=0-99", "If-Range": oldTag } });
    expect(stale.status).toBe(200);
    expect(Buffer.from(stale.bytes).equals(Buffer.from(expected))).toBe(true);
    // Only the current version is kept.
    expect((await storedMp3s(s.sessionId)).map((o) => o.key)).toEqual([`sessions/${s.sessionId}/audio/mp3/participant/${now.headers.get("ETag")!.slice(1, -1)}.mp3`]);
  }, 60_000);

  it("is erased with the session, and erased again by the ledger replay when a backup brings it back", async () => {
    const s = await voiceSession();
    await speak(s.ws, "v1", speechPcm(), SPEECH_TEXT);
    await spokenSegments(s.sessionId, s.key, 1);
    expect((await fetchAudio(s.sessionId, s.key, { format: "mp3" })).status).toBe(200);
    const [object] = await storedMp3s(s.sessionId);
    expect(object).toBeDefined();
    // Backups of the index row and of the stored MP3, for the restore drill.
    const row = await env.DB.prepare("SELECT * FROM sessions WHERE id = ?").bind(s.sessionId).first<Record<string, unknown>>();
    const copy = await (await env.AUDIO_BUCKET.get(object!.key))!.arrayBuffer();

    const deleted = await call("DELETE", `/v1/sessions/${s.sessionId}/data`, { key: s.key, headers: { "X-Confirm-Delete": "true" } });
    expect(deleted.status).toBe(200);
    expect((await env.AUDIO_BUCKET.list({ prefix: `sessions/${s.sessionId}/` })).objects).toEqual([]);

    const cols = Object.keys(row!);
    await env.DB.prepare(`INSERT INTO sessions (${cols.join(", ")}) VALUES (${cols.map(() => "?").join(", ")})`)
      .bind(...cols.map((c) => row![c]))
      .run();
    await env.AUDIO_BUCKET.put(object!.key, copy);
    const replay = await call("POST", "/v1/admin/deletions/replay", { key: "test-operator-token" });
    expect(replay.json.erased).toBeGreaterThanOrEqual(1);
    expect((await env.AUDIO_BUCKET.list({ prefix: `sessions/${s.sessionId}/` })).objects).toEqual([]);
  }, 60_000);

  it("goes with the audio when retention purges it, and the session's other data stays", async () => {
    const { apiKey } = await createOrg("professional");
    const s = await sessionWithEverything(apiKey.key);
    expect(await storedMp3s(s.sessionId)).toHaveLength(1);
    // Professional: audio is kept 90 days, transcripts 365.
    await sweepRetention(env, s.end + 91 * DAY_MS);
    expect((await env.AUDIO_BUCKET.list({ prefix: `sessions/${s.sessionId}/` })).objects).toEqual([]);
    const mp3 = await fetchAudio(s.sessionId, apiKey.key, { format: "mp3" });
    expect(mp3.status).toBe(404);
    expect((await call("GET", `/v1/sessions/${s.sessionId}/transcript`, { key: apiKey.key })).json.segments.length).toBeGreaterThan(0);
  }, 60_000);

  it("written after a purge that landed while it was encoded, is deleted again and not served", async () => {
    const s = await voiceSession();
    await speak(s.ws, "v1", speechPcm(), SPEECH_TEXT);
    await spokenSegments(s.sessionId, s.key, 1);
    const opened = await openTrack(env, s.sessionId, "participant");
    if (!opened.ok || !opened.value) throw new Error("no track");
    // The purge runs between the encoding (which read every chunk) and the MP3's put.
    const bucket = env.AUDIO_BUCKET;
    const racing = {
      head: bucket.head.bind(bucket),
      get: bucket.get.bind(bucket),
      list: bucket.list.bind(bucket),
      delete: bucket.delete.bind(bucket),
      put: (async (...args: Parameters<R2Bucket["put"]>) => {
        const purged = await sessionStub(s.sessionId).purge(["audio"], "consent_withdrawn");
        expect(purged.ok).toBe(true);
        return bucket.put(...args);
      }) as R2Bucket["put"],
    } as R2Bucket;
    const result = await storedMp3({ SESSION: env.SESSION, AUDIO_KEK: env.AUDIO_KEK, AUDIO_BUCKET: racing }, opened.value);
    expect(result).toBeNull();
    expect((await env.AUDIO_BUCKET.list({ prefix: `sessions/${s.sessionId}/` })).objects).toEqual([]);
    await until(async () => (await fetchAudio(s.sessionId, s.key, { format: "mp3" })).status === 404, "no audio to serve");
  }, 60_000);
});
