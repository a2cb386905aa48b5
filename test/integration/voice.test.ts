// Voice interviews inside workerd: PCM frames over the participant socket, encrypted chunks in
// R2, transcription through the queue, the assembled recording, and crypto-shredding.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { concat, parseWav } from "../../src/audio/pcm";
import { FLUSH_AFTER_MS } from "../../src/objects/audio";
import { processSpokenAnswer } from "../../src/worker/jobs";
import { importKek, newWrappedDataKey, openObject, unwrapDataKey } from "../../src/shared/audio-crypto";
import { AFTER_TEXT, afterPcm, afterWav, noisePcm, silencePcm, SPEECH_TEXT, speechPcm, truncatedWav } from "../fixtures/audio";
import { call, createCampaign, createInvite, createOrg, join } from "../helpers/api";
import { sessionStub, until } from "../helpers/session";
import { openSocket } from "../helpers/socket";
import { FRAME, speak, stream, voiceSession } from "../helpers/voice";

const r2Objects = async (sessionId: string) => (await env.AUDIO_BUCKET.list({ prefix: `sessions/${sessionId}/` })).objects;

describe("voice answers", () => {
  it("are stored encrypted, transcribed from the browser's transcript, analysed, and heard by the team", async () => {
    const s = await voiceSession();
    expect(s.question.audio).toBe(`/v1/sessions/${s.sessionId}/prompts/${s.question.seq}/audio`);
    const watcher = await openSocket(`/v1/sessions/${s.sessionId}/live`, { Authorization: `Bearer ${s.key}` });
    await watcher.next((f) => f.type === "snapshot", "snapshot");

    const pcm = concat([speechPcm(), silencePcm(), afterPcm()]);
    await speak(s.ws, "v1", pcm, `${SPEECH_TEXT} ${AFTER_TEXT}`);
    const seg = await watcher.next((f) => f.type === "segment" && f.segment.speaker === "participant", "the participant's segment", 0, 10_000);
    expect(seg.segment).toMatchObject({ text: `${SPEECH_TEXT} ${AFTER_TEXT}`, questionIndex: 0, speech: { spoken: true, lowConfidence: false } });
    await s.ws.next((f) => f.type === "question" && f.index === 1, "the next question", 0, 10_000);

    // The 2.6 s of silence became a pause event on the timeline.
    const t = await call("GET", `/v1/sessions/${s.sessionId}/transcript`, { key: s.key });
    const pause = t.json.events.find((e: any) => e.type === "long_pause");
    expect(pause.data.endMs - pause.data.startMs).toBeGreaterThanOrEqual(2000);

    const analysis = await until(
      () => env.DB.prepare("SELECT * FROM answer_analysis WHERE session_id = ? AND answer_id = 'v1'").bind(s.sessionId).first<Record<string, any>>(),
      "the answer's analysis",
      10_000,
    );
    expect(analysis).toMatchObject({ sentiment_label: "positive", low_confidence: 0 });
    expect(JSON.parse(analysis.themes)).toEqual(expect.arrayContaining(["features", "reliability"]));

    // In R2 only ciphertext: no run of the recording's bytes appears in any object.
    const objects = await r2Objects(s.sessionId);
    expect(objects.length).toBeGreaterThanOrEqual(2);
    const probe = pcm.subarray(1000, 1064);
    for (const o of objects) {
      const body = new Uint8Array(await (await env.AUDIO_BUCKET.get(o.key))!.arrayBuffer());
      expect(new TextDecoder().decode(body.subarray(0, 4))).toBe("IRA1");
      expect(Buffer.from(body).includes(Buffer.from(probe))).toBe(false);
      // A wrong key cannot open it.
      const otherKey = await unwrapDataKey(await importKek(env.AUDIO_KEK), await newWrappedDataKey(await importKek(env.AUDIO_KEK)));
      await expect(openObject(otherKey, o.key, body)).rejects.toThrow();
    }

    const wav = await call("GET", `/v1/sessions/${s.sessionId}/audio?track=participant&format=wav`, { key: s.key });
    expect(wav.status).toBe(200);
    expect(wav.headers.get("Cache-Control")).toBe("private, no-store");
    const full = await (await fetchAudio(s.sessionId, s.key)).arrayBuffer();
    const parsed = parseWav(new Uint8Array(full))!;
    expect(parsed).toMatchObject({ sampleRate: 16000, channels: 1, bitsPerSample: 16 });
    expect(parsed.data.byteLength).toBe(pcm.byteLength);

    const ranged = await fetchAudio(s.sessionId, s.key, "bytes=44-1043");
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get("Content-Range")).toBe(`bytes 44-1043/${pcm.byteLength + 44}`);
    expect((await ranged.arrayBuffer()).byteLength).toBe(1000);
    // Past the end (or an empty suffix): 416 in the error envelope, with the size to ask within.
    const size = pcm.byteLength + 44;
    for (const [format, range] of [["wav", `bytes=${size}-`], ["wav", "bytes=-0"], ["wav", "bytes=5-1"], ["mp3", "bytes=99999999-"]] as const) {
      const r = await fetchAudio(s.sessionId, s.key, range, format);
      expect(r.status, range).toBe(416);
      expect(((await r.json()) as any).error.code).toBe("RANGE_NOT_SATISFIABLE");
      if (format === "wav") expect(r.headers.get("Content-Range")).toBe(`bytes */${size}`);
    }
    // A Range header this server does not parse (another unit, several ranges) is ignored: the whole file.
    for (const range of ["items=0-1", "bytes=0-1,5-6", "bytes=abc"]) {
      const r = await fetchAudio(s.sessionId, s.key, range);
      expect(r.status, range).toBe(200);
      expect((await r.arrayBuffer()).byteLength).toBe(size);
    }

    const mp3 = await fetchAudio(s.sessionId, s.key, undefined, "mp3");
    const head = new Uint8Array(await mp3.arrayBuffer()).subarray(0, 2);
    expect(mp3.headers.get("Content-Type")).toBe("audio/mpeg");
    expect(head[0] === 0xff && (head[1]! & 0xe0) === 0xe0).toBe(true);

    const manifest = await call("GET", `/v1/sessions/${s.sessionId}/audio/manifest`, { key: s.key });
    expect(manifest.json.answers).toEqual([expect.objectContaining({ answerId: "v1", questionIndex: 0, offsetMs: 0 })]);

    const analyst = await call("POST", "/v1/api-keys", { key: s.key, body: { name: "a", role: "analyst" } });
    expect((await call("GET", `/v1/sessions/${s.sessionId}/audio`, { key: analyst.json.key })).status).toBe(403);
  }, 30_000);

  it("lose nothing acknowledged when the connection drops mid-answer", async () => {
    const s = await voiceSession();
    const pcm = concat([speechPcm(), speechPcm()]);
    s.ws.send({ type: "answer_start", id: "v1" });
    await s.ws.next((f) => f.type === "audio_ack", "audio_ack 0");
    const sent = 160 * 1024; // more than one chunk, so some of it becomes durable
    stream(s.ws, pcm.subarray(0, sent));
    const acked = await s.ws.next((f) => f.type === "audio_ack" && f.bytes > 0, "a durable chunk");
    s.ws.ws.close(4001, "network drop");

    const again = await openSocket(`/v1/sessions/${s.sessionId}/connect?token=${s.participantToken}`);
    again.send({ type: "hello", lastSeq: s.question.seq });
    await again.next((f) => f.type === "state", "state after reconnect");
    again.send({ type: "answer_start", id: "v1" });
    const resume = await again.next((f) => f.type === "audio_ack" && f.id === "v1", "where to resume");
    // Everything that arrived in order before the drop was written, not only the acknowledged chunk.
    expect(acked.bytes).toBeLessThan(sent);
    expect(resume.bytes).toBe(sent);
    stream(again, pcm.subarray(resume.bytes));
    again.send({ type: "answer_end", id: "v1", text: "twice" });
    await again.next((f) => f.type === "ack" && f.id === "v1", "the answer's ack");

    const full = parseWav(new Uint8Array(await (await fetchAudio(s.sessionId, s.key)).arrayBuffer()))!;
    expect(full.data.byteLength).toBe(pcm.byteLength);
    expect(Buffer.from(full.data).equals(Buffer.from(pcm))).toBe(true);
  }, 30_000);

  it("keep what was received of an answer the session's end cut off: in the recording and the transcript", async () => {
    const s = await voiceSession();
    const pcm = concat([speechPcm(), speechPcm()]);
    s.ws.send({ type: "answer_start", id: "v1" });
    await s.ws.next((f) => f.type === "audio_ack", "audio_ack 0");
    const sent = 160 * 1024; // more than one chunk: some of it is acknowledged, the rest still buffered
    stream(s.ws, pcm.subarray(0, sent));
    const acked = await s.ws.next((f) => f.type === "audio_ack" && f.bytes > 0, "a durable chunk");
    expect(acked.bytes).toBeLessThan(sent);
    // The team ends the interview while the participant is still speaking.
    expect((await call("POST", `/v1/sessions/${s.sessionId}/end`, { key: s.key })).status).toBe(200);
    await s.ws.next((f) => f.type === "ended", "ended");

    // Everything received is in the recording, including what was still buffered.
    const wav = await until(async () => {
      const r = await fetchAudio(s.sessionId, s.key);
      return r.status === 200 ? parseWav(new Uint8Array(await r.arrayBuffer())) : null;
    }, "the recording");
    expect(wav!.data.byteLength).toBe(sent);
    expect(Buffer.from(wav!.data).equals(Buffer.from(pcm.subarray(0, sent)))).toBe(true);
    // The transcript files it under its question, as a spoken answer whose transcription ran.
    const seg = await until(async () => {
      const t = await call("GET", `/v1/sessions/${s.sessionId}/transcript`, { key: s.key });
      return t.json.segments.find((x: any) => x.speaker === "participant" && x.speech) ?? null;
    }, "the cut-off answer's transcript segment", 10_000);
    expect(seg).toMatchObject({ questionIndex: 0, followUp: false, speech: { spoken: true } });
    const events = (await call("GET", `/v1/sessions/${s.sessionId}/transcript`, { key: s.key })).json.events;
    expect(events.map((e: any) => e.type)).toContain("answer_cut_off");
  }, 30_000);

  it("keep what arrived before a reload mid-answer, whose page lost its unacknowledged copy", async () => {
    const s = await voiceSession();
    const pcm = concat([speechPcm(), afterPcm()]);
    const cut = 40 * 1024; // under one chunk and under FLUSH_AFTER_MS of audio: nothing acknowledged yet
    s.ws.send({ type: "answer_start", id: "v1" });
    await s.ws.next((f) => f.type === "audio_ack" && f.id === "v1", "audio_ack 0");
    stream(s.ws, pcm.subarray(0, cut));
    s.ws.ws.close(1001, "page reload");

    // The reloaded page knows only the answer id; the server says how much it holds.
    const again = await openSocket(`/v1/sessions/${s.sessionId}/connect?token=${s.participantToken}`);
    again.send({ type: "hello", lastSeq: s.question.seq });
    await again.next((f) => f.type === "state", "state after reload");
    again.send({ type: "answer_start", id: "v1" });
    const resume = await again.next((f) => f.type === "audio_ack" && f.id === "v1", "where to resume");
    expect(resume.bytes).toBe(cut);
    stream(again, pcm.subarray(cut));
    again.send({ type: "answer_end", id: "v1", text: `${SPEECH_TEXT} ${AFTER_TEXT}` });
    await again.next((f) => f.type === "ack" && f.id === "v1", "the answer's ack");
    const full = parseWav(new Uint8Array(await (await fetchAudio(s.sessionId, s.key)).arrayBuffer()))!;
    expect(Buffer.from(full.data).equals(Buffer.from(pcm))).toBe(true);
  }, 30_000);

  it("make audio durable and acknowledge it within seconds when frames stop mid-answer", async () => {
    const s = await voiceSession();
    s.ws.send({ type: "answer_start", id: "v1" });
    await s.ws.next((f) => f.type === "audio_ack" && f.id === "v1", "audio_ack 0");
    const part = speechPcm().subarray(0, 20 * 1024);
    const from = s.ws.frames.length;
    stream(s.ws, part);
    const started = Date.now();
    // Far from a full chunk, and no more frames come: the object's alarm writes it.
    const acked = await s.ws.next((f) => f.type === "audio_ack" && f.id === "v1" && f.bytes > 0, "the buffered audio's audio_ack", from, FLUSH_AFTER_MS + 4000);
    expect(acked.bytes).toBe(part.byteLength);
    expect(Date.now() - started).toBeGreaterThanOrEqual(FLUSH_AFTER_MS - 100);
    expect((await r2Objects(s.sessionId)).length).toBe(1);
    // The answer goes on from there.
    stream(s.ws, afterPcm());
    s.ws.send({ type: "answer_end", id: "v1", text: AFTER_TEXT });
    await s.ws.next((f) => f.type === "ack" && f.id === "v1", "the answer's ack");
    const full = parseWav(new Uint8Array(await (await fetchAudio(s.sessionId, s.key)).arrayBuffer()))!;
    expect(Buffer.from(full.data).equals(Buffer.from(concat([part, afterPcm()])))).toBe(true);
  }, 30_000);

  it("refuse frames from a connection the answer moved away from, naming the answer, and store nothing twice", async () => {
    const s = await voiceSession();
    const pcm = concat([speechPcm(), afterPcm()]);
    s.ws.send({ type: "answer_start", id: "v1" });
    await s.ws.next((f) => f.type === "audio_ack" && f.id === "v1", "audio_ack 0");
    stream(s.ws, pcm.subarray(0, 10_000));
    // A second tab (or a reconnect before the old socket closed) reopens the same answer.
    const other = await openSocket(`/v1/sessions/${s.sessionId}/connect?token=${s.participantToken}`);
    other.send({ type: "hello", lastSeq: s.question.seq });
    await other.next((f) => f.type === "state", "state");
    other.send({ type: "answer_start", id: "v1" });
    const resume = await other.next((f) => f.type === "audio_ack" && f.id === "v1", "where to resume");
    expect(resume.bytes).toBe(10_000);
    const from = s.ws.frames.length;
    s.ws.ws.send(pcm.subarray(10_000, 20_000));
    const refused = await s.ws.next((f) => f.type === "error", "the old connection's frame refused", from);
    expect(refused).toMatchObject({ code: "AUDIO_NOT_ACCEPTED", answerId: "v1" });
    stream(other, pcm.subarray(resume.bytes));
    other.send({ type: "answer_end", id: "v1", text: AFTER_TEXT });
    await other.next((f) => f.type === "ack" && f.id === "v1", "ack");
    const full = parseWav(new Uint8Array(await (await fetchAudio(s.sessionId, s.key)).arrayBuffer()))!;
    expect(Buffer.from(full.data).equals(Buffer.from(pcm))).toBe(true);
    // Errors about a spoken answer name it; answer_end for an unknown one too.
    other.send({ type: "answer_end", id: "nope" });
    expect(await other.next((f) => f.type === "error" && f.code === "NO_OPEN_ANSWER", "unknown answer")).toMatchObject({ answerId: "nope" });
  }, 30_000);

  it("take nothing after a frame dropped for rate until the answer is reopened, so a resend leaves no gap", async () => {
    const s = await voiceSession();
    const one = speechPcm();
    const parts: Uint8Array[] = [];
    for (let n = 0; n < 40 * 32_000; n += one.byteLength) parts.push(one);
    const pcm = concat(parts).subarray(0, 40 * 32_000); // 40 s: more than the 30 s burst
    s.ws.send({ type: "answer_start", id: "v1" });
    await s.ws.next((f) => f.type === "audio_ack" && f.id === "v1", "audio_ack 0");
    const from = s.ws.frames.length;
    stream(s.ws, pcm);
    const limited = await s.ws.next((f) => f.type === "error" && f.code === "AUDIO_RATE_LIMITED", "a frame dropped for rate", from);
    expect(limited.answerId).toBe("v1");
    await s.ws.next((f) => f.type === "error" && f.code === "AUDIO_NOT_ACCEPTED", "the frames after it refused", from);
    // Reopen after a back-off (as the page does; chunks already under way are written meanwhile)
    // and resend from the offset it gives, paced under the cap.
    await new Promise((r) => setTimeout(r, 1000));
    const reopened = s.ws.frames.length;
    s.ws.send({ type: "answer_start", id: "v1" });
    const resume = await s.ws.next((f) => f.type === "audio_ack" && f.id === "v1", "where to resume", reopened);
    expect(resume.bytes).toBeGreaterThan(0);
    expect(resume.bytes).toBeLessThan(pcm.byteLength);
    for (let i = resume.bytes; i < pcm.byteLength; i += FRAME) {
      s.ws.ws.send(pcm.slice(i, i + FRAME));
      await new Promise((r) => setTimeout(r, 300)); // ~109 KB/s, under 4× real time
    }
    s.ws.send({ type: "answer_end", id: "v1", text: SPEECH_TEXT });
    await s.ws.next((f) => f.type === "ack" && f.id === "v1", "ack", from, 10_000);
    const full = parseWav(new Uint8Array(await (await fetchAudio(s.sessionId, s.key)).arrayBuffer()))!;
    expect(full.data.byteLength).toBe(pcm.byteLength);
    expect(Buffer.from(full.data).equals(Buffer.from(pcm))).toBe(true);
  }, 40_000);

  it("tell the participant's page the campaign's language when it joins", async () => {
    const s = await voiceSession(undefined, { language: "de" });
    expect((s as unknown as { language: string }).language).toBe("de");
    const { apiKey } = await createOrg();
    const campaign = await createCampaign(apiKey.key, { settings: { consentRequired: false } });
    const joined = (await join((await createInvite(apiKey.key, campaign.id)).token)).json;
    expect(joined.language).toBeNull();
  });

  it("refuses bad audio frames with error frames and keeps what was stored", async () => {
    const s = await voiceSession();
    s.ws.ws.send(speechPcm().subarray(0, 100));
    await s.ws.next((f) => f.type === "error" && f.code === "AUDIO_NOT_ACCEPTED", "binary outside an answer");
    s.ws.send({ type: "answer_start", id: "v1" });
    await s.ws.next((f) => f.type === "audio_ack", "audio_ack");
    const cases: [Uint8Array, string][] = [
      [speechPcm().subarray(0, 101), "INVALID_AUDIO"],
      [new Uint8Array(64 * 1024 + 2), "FRAME_TOO_LARGE"],
      [afterWav().subarray(0, 4096), "INVALID_AUDIO"],
      [truncatedWav(), "INVALID_AUDIO"],
    ];
    for (const [frame, code] of cases) {
      const from = s.ws.frames.length;
      s.ws.ws.send(frame);
      await s.ws.next((f) => f.type === "error" && f.code === code, code, from);
    }
    // A typed answer cannot slip in while the spoken one is open: it would take v1's question.
    const typedFrom = s.ws.frames.length;
    s.ws.send({ type: "answer", id: "t1", text: "typed meanwhile" });
    // Named by its id, so the typed answer's page drops it instead of waiting for an ack.
    await s.ws.next((f) => f.type === "error" && f.code === "ANSWER_IN_PROGRESS" && f.answerId === "t1", "typed answer refused", typedFrom);
    expect(s.ws.frames.slice(typedFrom).some((f) => f.type === "ack" || f.type === "question")).toBe(false);
    stream(s.ws, afterPcm());
    s.ws.send({ type: "answer_end", id: "v1", text: AFTER_TEXT });
    await s.ws.next((f) => f.type === "ack" && f.id === "v1", "ack");
    const spoken = async () => (await call("GET", `/v1/sessions/${s.sessionId}/transcript`, { key: s.key })).json.segments.filter((x: any) => x.speaker === "participant");
    const transcript = await until(async () => ((await spoken()).length ? spoken() : null), "the spoken answer's segment");
    expect(transcript.map((x: any) => [x.questionIndex, x.text])).toEqual([[0, AFTER_TEXT]]);
    const full = parseWav(new Uint8Array(await (await fetchAudio(s.sessionId, s.key)).arrayBuffer()))!;
    expect(full.data.byteLength).toBe(afterPcm().byteLength);
  }, 30_000);

  it("marks answers it cannot transcribe, or hears only faintly, instead of inventing or analysing them", async () => {
    const s = await voiceSession([{ text: "Say something", probe: "deep" }, { text: "Next" }]);
    await speak(s.ws, "v1", noisePcm());
    await s.ws.next((f) => f.type === "question" && f.index === 1, "moves on without a follow-up", 0, 10_000);
    const t = await call("GET", `/v1/sessions/${s.sessionId}/transcript`, { key: s.key });
    const seg = t.json.segments.find((x: any) => x.speaker === "participant");
    expect(seg.text).toBe("");
    expect(seg.speech.untranscribedReason).toMatch(/no browser transcript/);
    const faint = new Uint8Array(silencePcm());
    await speak(s.ws, "v2", faint, "maybe something");
    const row = await until(
      () => env.DB.prepare("SELECT * FROM answer_analysis WHERE session_id = ? AND answer_id = 'v2'").bind(s.sessionId).first<Record<string, any>>(),
      "analysis row",
      10_000,
    );
    expect(row).toMatchObject({ low_confidence: 1, sentiment_label: null });
  }, 30_000);

  it("apply a transcript once even when the job is delivered twice", async () => {
    const s = await voiceSession();
    await speak(s.ws, "v1", speechPcm(), SPEECH_TEXT);
    await s.ws.next((f) => f.type === "question" && f.index === 1, "next question", 0, 10_000);
    const stub = sessionStub(s.sessionId);
    const again = await stub.applyTranscription("v1", {
      status: "transcribed",
      text: "something else",
      reason: null,
      language: "en",
      confidence: 0.9,
      lowConfidence: false,
      gain: 1,
      peak: 0.5,
      pauses: [],
      durationMs: 1000,
    });
    expect(again).toEqual({ ok: true, value: { applied: false } });
    const t = await call("GET", `/v1/sessions/${s.sessionId}/transcript`, { key: s.key });
    expect(t.json.segments.filter((x: any) => x.speaker === "participant").map((x: any) => x.text)).toEqual([SPEECH_TEXT]);
  }, 30_000);

  it("stay shredded when a transcription job arrives after their recordings were purged: no new audio key is made", async () => {
    const s = await voiceSession();
    await speak(s.ws, "v1", speechPcm(), SPEECH_TEXT);
    const stub = sessionStub(s.sessionId);
    const storedKey = () => runInDurableObject(stub, (i) => (i as unknown as { store: { loadAudioKey(): string | undefined } }).store.loadAudioKey() ?? null);
    expect(await storedKey()).not.toBeNull();
    expect((await stub.purge(["audio"], "consent_withdrawn")).ok).toBe(true);
    expect(await storedKey()).toBeNull();
    // A redelivered (or late) transcription of the purged answer.
    await processSpokenAnswer(env, s.sessionId, "v1");
    expect(await storedKey()).toBeNull();
    expect(await r2Objects(s.sessionId)).toEqual([]);
    s.ws.close();
  });

  it("become unreadable for good when the session's data is deleted (crypto-shredding)", async () => {
    const s = await voiceSession();
    await speak(s.ws, "v1", speechPcm(), SPEECH_TEXT);
    // Heard as MP3 first: the stored MP3 goes with the chunks.
    expect((await fetchAudio(s.sessionId, s.key, undefined, "mp3")).status).toBe(200);
    const objects = await r2Objects(s.sessionId);
    expect(objects.some((o) => o.key.startsWith(`sessions/${s.sessionId}/audio/mp3/`))).toBe(true);
    // A copy made before deletion stands for a backup.
    const backupKey = objects[0]!.key;
    const backup = new Uint8Array(await (await env.AUDIO_BUCKET.get(backupKey))!.arrayBuffer());
    const deleted = await call("DELETE", `/v1/sessions/${s.sessionId}/data`, { key: s.key, headers: { "X-Confirm-Delete": "true" } });
    expect(deleted.status).toBe(200);
    expect(await r2Objects(s.sessionId)).toEqual([]);
    const wrapped = await sessionStub(s.sessionId).audioManifest("participant");
    expect(wrapped.ok).toBe(false);
    // No stored key is left anywhere to open the backup with; a fresh key cannot.
    const fresh = await unwrapDataKey(await importKek(env.AUDIO_KEK), await newWrappedDataKey(await importKek(env.AUDIO_KEK)));
    await expect(openObject(fresh, backupKey, backup)).rejects.toThrow();
  }, 30_000);

  it("are refused in a text interview, and questions there carry no audio", async () => {
    const { apiKey } = await createOrg();
    const campaign = await createCampaign(apiKey.key, { settings: { consentRequired: false } });
    const invite = await createInvite(apiKey.key, campaign.id);
    const joined = (await join(invite.token)).json;
    const ws = await openSocket(`/v1/sessions/${joined.sessionId}/connect?token=${joined.participantToken}`);
    ws.send({ type: "hello" });
    ws.send({ type: "start" });
    const q = await ws.next((f) => f.type === "question", "question");
    expect(q.audio).toBeUndefined();
    ws.send({ type: "answer_start", id: "v1" });
    await ws.next((f) => f.type === "error" && f.code === "VOICE_NOT_AVAILABLE", "voice refused");
  });

  it("serves a question's spoken version only to the participant, and says when no voice is available offline", async () => {
    const s = await voiceSession();
    const none = await call("GET", `${s.question.audio}?token=${encodeURIComponent(s.participantToken)}`);
    expect(none.status).toBe(404);
    expect(none.json.error.code).toBe("TTS_UNAVAILABLE");
    expect((await call("GET", `${s.question.audio}?token=wrong-token-value`)).status).toBe(401);
  });
});

function fetchAudio(sessionId: string, key: string, range?: string, format = "wav") {
  return (async () => {
    const { exports } = await import("cloudflare:workers");
    return exports.default.fetch(
      new Request(`https://interviews.example/v1/sessions/${sessionId}/audio?track=participant&format=${format}`, {
        headers: { Authorization: `Bearer ${key}`, ...(range ? { Range: range } : {}) },
      }),
    );
  })();
}
