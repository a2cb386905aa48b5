// Audio out: a session's recording assembled from its encrypted chunks (decrypted only here,
// for roles that may hear it), and the spoken version of a question for the participant.
import { Hono, type Context } from "hono";
import { z } from "zod";
import { BYTES_PER_SECOND } from "../../audio/pcm";
import type { SessionRow } from "../../db/schema";
import { mp3Range, storedMp3 } from "../audio-mp3";
import { openTrack, wavRange } from "../audio-track";
import { ApiError, errorBody, fromRpcError, notFound } from "../errors";
import { op, queryOf } from "../openapi";
import { idParam } from "../schemas";
import type { AppEnv } from "../types";

export const audioRoutes = new Hono<AppEnv>();
const sesId = idParam("ses");
const NO_STORE = { "Cache-Control": "private, no-store" };

const AudioQuery = z.strictObject({ track: z.enum(["participant", "ai"]).default("participant"), format: z.enum(["wav", "mp3"]).default("wav") });

async function sessionRow(c: Context<AppEnv>): Promise<SessionRow> {
  const id = c.req.param("id") ?? "";
  const row = sesId.safeParse(id).success
    ? await c.env.DB.prepare("SELECT * FROM sessions WHERE id = ? AND org_id = ?").bind(id, c.get("principal")!.orgId).first<SessionRow>()
    : null;
  if (!row) throw notFound("session");
  c.set("auditResource", { type: "session", id: row.id, campaignId: row.campaign_id });
  return row;
}

async function manifest(c: Context<AppEnv>, sessionId: string, track: "participant" | "ai") {
  const r = await c.env.SESSION.get(c.env.SESSION.idFromName(sessionId)).audioManifest(track);
  if (!r.ok) throw fromRpcError(r.error);
  return r.value;
}

/**
 * `bytes=a-b` against a total length: null for none, or for a header this server does not parse
 * (another unit, several ranges, no range at all), which RFC 9110 lets it ignore (the whole file);
 * "invalid" when the range cannot be satisfied (416).
 */
export function parseRange(header: string | undefined, total: number): { start: number; end: number } | null | "invalid" {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return null;
  let start: number;
  let end: number;
  if (m[1] === "") {
    start = Math.max(0, total - Number(m[2]));
    end = total - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === "" ? total - 1 : Math.min(Number(m[2]), total - 1);
  }
  return start > end || start >= total ? "invalid" : { start, end };
}

/** 416 in the contract's envelope, with the length the client can ask within. */
const unsatisfiable = (c: Context<AppEnv>, total: number) =>
  c.json(errorBody("RANGE_NOT_SATISFIABLE", `the range is outside the recording's ${total} bytes`, { size: total }), 416, { ...NO_STORE, "Content-Range": `bytes */${total}` });

audioRoutes.get(
  "/sessions/:id/audio",
  op({
    summary: "A session's recording as one WAV or MP3 (Range requests honoured)",
    description: "track=participant (the participant's answers, volume-normalised) or ai (the AI's spoken questions). WAV is assembled from the encrypted chunks on the fly; MP3 is encoded once per version of the track and kept encrypted beside them (its ETag names the version; If-Range honoured). Never cached by clients (private, no-store).",
    tags: ["audio"],
    auth: "key",
    action: "audio.read",
    resource: "session",
    headers: [
      { name: "Range", required: false, description: "bytes=start-end: one byte range (206 Partial Content; 416 when unsatisfiable)" },
      { name: "If-Range", required: false, description: "MP3 only: the ETag of the version the client holds; when it is not the current one, the Range is ignored and the whole file sent" },
    ],
    responses: { 200: { description: "audio (audio/mpeg with format=mp3)", contentTypes: ["audio/wav", "audio/mpeg"] }, 206: { description: "a byte range" }, 416: { description: "the range is outside the audio" } },
  }),
  queryOf(AudioQuery),
  async (c) => {
    const row = await sessionRow(c);
    const { track, format } = c.req.valid("query");
    const opened = await openTrack(c.env, row.id, track);
    if (!opened.ok) throw fromRpcError(opened.error);
    const t = opened.value;
    if (!t) throw new ApiError(404, "NO_AUDIO", `this session has no ${track} audio`);
    const type = format === "wav" ? "audio/wav" : "audio/mpeg";
    const disposition = `inline; filename="${row.id}-${track}.${format}"`;

    if (format === "mp3") {
      // Encoded once per version of the track and kept encrypted in R2 (src/worker/audio-mp3.ts).
      const mp3 = await storedMp3(c.env, t);
      if (!mp3) throw new ApiError(404, "NO_AUDIO", `this session has no ${track} audio`);
      const etag = `"${mp3.version}"`;
      // If-Range: the range only applies to the version the client holds; otherwise the whole file.
      const ifRange = c.req.header("If-Range");
      const range = ifRange === undefined || ifRange.trim() === etag ? parseRange(c.req.header("Range"), mp3.bytes) : null;
      if (range === "invalid") return unsatisfiable(c, mp3.bytes);
      const { start, end } = range ?? { start: 0, end: mp3.bytes - 1 };
      const body = await mp3Range(c.env.AUDIO_BUCKET, t.dek, mp3, start, end);
      if (!body) throw new ApiError(404, "NO_AUDIO", `this session has no ${track} audio`);
      return c.body(body, range ? 206 : 200, {
        ...NO_STORE,
        "Content-Type": type,
        "Content-Length": String(end - start + 1),
        "Accept-Ranges": "bytes",
        ETag: etag,
        "Content-Disposition": disposition,
        ...(range ? { "Content-Range": `bytes ${start}-${end}/${mp3.bytes}` } : {}),
      });
    }

    // WAV streams: the header is computed from the sizes, then only the chunks in range are read.
    const total = t.wavBytes;
    const range = parseRange(c.req.header("Range"), total);
    if (range === "invalid") return unsatisfiable(c, total);
    const { start, end } = range ?? { start: 0, end: total - 1 };
    const stream = new ReadableStream<Uint8Array>({
      async start(controller) {
        try {
          for await (const p of wavRange(c.env.AUDIO_BUCKET, t, start, end)) controller.enqueue(p);
          controller.close();
        } catch (err) {
          controller.error(err);
        }
      },
    });
    return c.body(stream, range ? 206 : 200, {
      ...NO_STORE,
      "Content-Type": type,
      "Content-Length": String(end - start + 1),
      "Accept-Ranges": "bytes",
      "Content-Disposition": disposition,
      ...(range ? { "Content-Range": `bytes ${start}-${end}/${total}` } : {}),
    });
  },
);

audioRoutes.get(
  "/sessions/:id/audio/manifest",
  op({
    summary: "Where each answer sits in the assembled recording, for players that skip to an answer",
    tags: ["audio"],
    auth: "key",
    action: "audio.read",
    resource: "session",
    responses: { 200: { description: "answers with their offsets in the track" } },
  }),
  queryOf(z.strictObject({ track: z.enum(["participant", "ai"]).default("participant") })),
  async (c) => {
    const row = await sessionRow(c);
    const { track } = c.req.valid("query");
    const m = await manifest(c, row.id, track);
    let offset = 0;
    const answers = m.answers.map((a) => {
      const bytes = a.chunks.reduce((n, ch) => n + ch.bytes, 0);
      const entry = { answerId: a.id, questionIndex: a.questionIndex, offsetMs: Math.round((offset / BYTES_PER_SECOND) * 1000), durationMs: Math.round((bytes / BYTES_PER_SECOND) * 1000), sessionMs: a.startMs };
      offset += bytes;
      return entry;
    });
    return c.json({ sessionId: row.id, track, durationMs: Math.round((offset / BYTES_PER_SECOND) * 1000), answers });
  },
);

audioRoutes.get(
  "/sessions/:id/prompts/:seq/audio",
  op({
    summary: "The spoken version of a question (participant token in the query), as WAV",
    description: "Synthesised on first request and stored as part of the session's AI track. 404 TTS_UNAVAILABLE where no speech model runs: the page then uses the browser's own voice.",
    tags: ["participant"],
    auth: "participant",
    responses: { 200: { description: "audio/wav", contentType: "audio/wav" } },
  }),
  queryOf(z.strictObject({ token: z.string().max(200).optional() })),
  async (c) => {
    const id = c.req.param("id");
    const seq = Number(c.req.param("seq"));
    if (!sesId.safeParse(id).success || !Number.isInteger(seq) || seq < 1) throw notFound("question");
    const token = c.req.valid("query").token;
    if (!token) throw new ApiError(401, "INVALID_TOKEN", "the participant token is missing");
    const r = await c.env.SESSION.get(c.env.SESSION.idFromName(id)).promptAudio(seq, token);
    if (!r.ok) {
      if (r.error.code === "INVALID_TOKEN") throw new ApiError(401, "INVALID_TOKEN", r.error.message);
      throw new ApiError(404, r.error.code === "TTS_UNAVAILABLE" ? "TTS_UNAVAILABLE" : "NOT_FOUND", r.error.message);
    }
    return c.body(r.value as Uint8Array<ArrayBuffer>, 200, { ...NO_STORE, "Content-Type": "audio/wav" });
  },
);
