// Voice interviews for integration tests: a started voice session, PCM streamed over its socket
// as the participant page sends it, and the assembled recording fetched as the dashboard does.
import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";
import { BASE, call, createCampaign, createInvite, createOrg, join } from "./api";
import { until } from "./session";
import { openSocket, type TestSocket } from "./socket";

export const FRAME = 32 * 1024;

/** A voice campaign's session, started, its first question on screen. */
export async function voiceSession(questions: unknown[] = [{ text: "What did you think of the export?" }, { text: "Anything else?" }], settings: Record<string, unknown> = {}) {
  const { apiKey, org } = await createOrg();
  const campaign = await createCampaign(apiKey.key, { questions, settings: { consentRequired: false, mode: "voice", ...settings } });
  const invite = await createInvite(apiKey.key, campaign.id);
  const joined = (await join(invite.token)).json as { sessionId: string; participantToken: string; mode: string; language: string | null };
  expect(joined.mode).toBe("voice");
  const ws = await openSocket(`/v1/sessions/${joined.sessionId}/connect?token=${joined.participantToken}`);
  ws.send({ type: "hello" });
  await ws.next((f) => f.type === "state", "state");
  ws.send({ type: "start" });
  const q = await ws.next((f) => f.type === "question" && f.index === 0, "first question");
  return { key: apiKey.key, orgId: org.id, campaignId: campaign.id, ...joined, ws, question: q };
}

/** PCM as the page sends it: binary frames of 32 KiB. */
export function stream(ws: TestSocket, pcm: Uint8Array) {
  for (let i = 0; i < pcm.length; i += FRAME) ws.ws.send(pcm.slice(i, i + FRAME));
}

/** One spoken answer, start to end (with the browser's transcript `text`), up to its ack. */
export async function speak(ws: TestSocket, id: string, pcm: Uint8Array, text?: string) {
  const from = ws.frames.length;
  ws.send({ type: "answer_start", id });
  await ws.next((f) => f.type === "audio_ack" && f.id === id, "audio_ack after answer_start", from);
  stream(ws, pcm);
  ws.send(text === undefined ? { type: "answer_end", id } : { type: "answer_end", id, text });
  return ws.next((f) => f.type === "ack" && f.id === id, `ack of ${id}`, from);
}

/** GET /v1/sessions/{id}/audio with the given query and request headers (Range, If-Range). */
export async function fetchAudio(sessionId: string, key: string, opts: { format?: "wav" | "mp3"; track?: "participant" | "ai"; headers?: Record<string, string> } = {}) {
  const res = await exports.default.fetch(
    new Request(`${BASE}/v1/sessions/${sessionId}/audio?track=${opts.track ?? "participant"}&format=${opts.format ?? "wav"}`, {
      headers: { Authorization: `Bearer ${key}`, ...(opts.headers ?? {}) },
    }),
  );
  return { status: res.status, headers: res.headers, bytes: new Uint8Array(await res.arrayBuffer()) };
}

/** The stored MP3s of a session's track in R2. */
export const storedMp3s = async (sessionId: string, track = "participant") => (await env.AUDIO_BUCKET.list({ prefix: `sessions/${sessionId}/audio/mp3/${track}/` })).objects;

/** The transcript's spoken participant segments, once there are `n`: their transcription (and with it each answer's gain) has landed. */
export const spokenSegments = (sessionId: string, key: string, n: number, timeout = 10_000) =>
  until(
    async () => {
      const t = await call("GET", `/v1/sessions/${sessionId}/transcript`, { key });
      const spoken = (t.json?.segments ?? []).filter((s: any) => s.speaker === "participant" && s.speech);
      return spoken.length >= n ? spoken : null;
    },
    `${n} spoken segments`,
    timeout,
  );
