// Fixtures for the data lifecycle tests: a finished voice interview holding every kind of data
// (transcript, encrypted audio in R2 with a stored MP3, per-answer analysis, the index row), and
// probes for each.
import { env, exports } from "cloudflare:workers";
import { BASE } from "./api";
import { begin, connect, createCampaign, createInvite, mirroredStatus } from "./fixtures";
import { sessionStub, until } from "./session";
import type { TestSocket } from "./socket";

export const audioObjects = async (id: string) => (await env.AUDIO_BUCKET.list({ prefix: `sessions/${id}/audio/` })).objects.length;
export const analyses = async (id: string) => (await env.DB.prepare("SELECT COUNT(*) AS n FROM answer_analysis WHERE session_id = ?").bind(id).first<{ n: number }>())!.n;
export const sessionRow = (id: string) => env.DB.prepare("SELECT * FROM sessions WHERE id = ?").bind(id).first<Record<string, any>>();

/** One second of a 440 Hz tone, 16 kHz mono PCM. */
export function tone(): ArrayBuffer {
  const pcm = new Int16Array(16_000);
  for (let n = 0; n < pcm.length; n++) pcm[n] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * n) / 16_000));
  return pcm.buffer;
}

/** Speaks one answer (a tone, with the browser's transcript `text`) and waits for its ack. */
export async function speak(ws: TestSocket, id: string, text: string) {
  const from = ws.frames.length;
  ws.send({ type: "answer_start", id });
  await ws.next((f) => f.type === "audio_ack" && f.id === id, `audio_ack of ${id}`, from);
  ws.ws.send(tone());
  ws.send({ type: "answer_end", id, text });
  await ws.next((f) => f.type === "ack" && f.id === id, `ack of ${id}`, from, 10_000);
}

export const VOICE_SETTINGS = { consentRequired: true, consentText: "We record this interview.", mode: "voice", recordAudio: true, browserTranscription: true };

/** A voice interview, consented and started, first question on screen. */
export async function voiceInterview(ownerKey: string, participant: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  const campaign = await createCampaign(ownerKey, { questions: [{ text: "Tell us about your day." }, { text: "Anything else?" }], settings: VOICE_SETTINGS });
  const invite = await createInvite(ownerKey, campaign.id, { participant });
  const i = await connect(invite.token, headers);
  await begin(i);
  return { ...i, campaignId: campaign.id };
}

/** A finished voice interview whose every kind of data exists; `end` is its completed_at. */
export async function sessionWithEverything(ownerKey: string, opts: { participant?: Record<string, unknown>; words?: string } = {}) {
  const i = await voiceInterview(ownerKey, opts.participant ?? {});
  const from = i.ws.frames.length;
  await speak(i.ws, "v0", `A quiet day at the office ${opts.words ?? ""}, and the support team was great.`);
  await i.ws.next((f) => f.type === "question" && f.index === 1, "the second question", from, 15_000);
  i.ws.send({ type: "answer", id: "t1", text: `Nothing else ${opts.words ?? ""}, thanks.` });
  await i.ws.next((f) => f.type === "ended", "the end of the interview", from, 15_000);
  i.ws.close();
  await mirroredStatus(i.sessionId, "completed");
  await until(async () => (await analyses(i.sessionId)) >= 2, "both answers analysed", 20_000);
  const t = await sessionStub(i.sessionId).transcript();
  if (!t.ok || t.value.segments.length === 0) throw new Error("no transcript");
  if ((await audioObjects(i.sessionId)) === 0) throw new Error("no audio in R2");
  // The team listened to it as MP3, so a stored MP3 is among the audio in R2 too.
  const mp3 = await exports.default.fetch(new Request(`${BASE}/v1/sessions/${i.sessionId}/audio?format=mp3`, { headers: { Authorization: `Bearer ${ownerKey}` } }));
  await mp3.arrayBuffer();
  if (mp3.status !== 200 || (await env.AUDIO_BUCKET.list({ prefix: `sessions/${i.sessionId}/audio/mp3/` })).objects.length !== 1) throw new Error("no stored MP3 in R2");
  return { sessionId: i.sessionId, campaignId: i.campaignId, end: (await sessionRow(i.sessionId))!.completed_at as number };
}
