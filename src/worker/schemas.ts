// Request and response schemas: validation at the edge and the OpenAPI document share them.
// Request objects are strict: unknown and server-owned fields are refused, never ignored.
import { z } from "zod";
import { hasVisibleText, typedText } from "../shared/text";
import { ordered, RANGE_PAIRS } from "../shared/ordered";
import { STATUSES } from "../objects/machine";
import { ROLES } from "./policy";

export const PLANS = ["free", "starter", "professional", "enterprise"] as const;
const isoDate = z.iso.datetime({ offset: true });
const email = z.email().max(320).transform((e) => e.toLowerCase());
export const idParam = (prefix: string) => z.string().regex(new RegExp(`^${prefix}_[a-z0-9]{8,64}$`), `expected an id like ${prefix}_…`);

/**
 * A whole number in a query string, written in plain digits. `z.coerce.number()` would also take
 * "0x10", "1e2", " 5" or "5.0", which no client means as a count; those are refused.
 */
const queryInt = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .regex(/^\d{1,15}$/, "a whole number in plain digits")
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    // Documented as what it is to a client: an integer in a range (the pattern is how it is read).
    .meta({ type: "integer", minimum: min, ...(max < Number.MAX_SAFE_INTEGER ? { maximum: max } : {}), pattern: undefined });

// ---- lists ----
export const listQuery = {
  limit: queryInt(1, 100).default(50),
  cursor: z.string().max(500).optional(),
};
export const ListQuery = z.strictObject(listQuery);
export const page = <T extends z.ZodType>(item: T) => z.object({ data: z.array(item), nextCursor: z.string().nullable() });

// ---- orgs ----
export const Password = z.string().min(12, "at least 12 characters").max(256);
export const CreateOrg = z.strictObject({
  name: typedText(200),
  plan: z.enum(PLANS),
  owner: z.strictObject({ email, name: typedText(200), password: Password }),
});
export const OrgCreated = z.object({
  org: z.object({ id: z.string(), name: z.string(), plan: z.enum(PLANS) }),
  owner: z.object({ id: z.string(), email: z.string(), role: z.enum(ROLES) }),
  apiKey: z.object({ id: z.string(), key: z.string(), role: z.enum(ROLES) }),
});

// ---- campaigns ----
export const Probe = z.enum(["none", "light", "deep"]);
export const QuestionIn = z.strictObject({ text: typedText(2000), probe: Probe.default("none") });
const language = z.string().regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$/, "a BCP 47 language tag such as en or pt-BR");
const settingsFields = {
  consentRequired: z.boolean(),
  consentText: typedText(10_000),
  mode: z.enum(["text", "voice"]),
  recordAudio: z.boolean(),
  language,
  // Chrome's speech recognition sends the participant's audio to a third party, so the page
  // uses the browser's own transcript (a hint for offline transcription) only when asked to.
  browserTranscription: z.boolean(),
};
export const SettingsIn = z.strictObject({
  consentRequired: settingsFields.consentRequired.default(true),
  consentText: settingsFields.consentText.optional(),
  mode: settingsFields.mode.default("text"),
  recordAudio: settingsFields.recordAudio.default(true),
  language: language.optional(),
  browserTranscription: settingsFields.browserTranscription.default(false),
});
// No defaults here: a PATCH changes only the settings it names. The optional ones (consent text,
// language) are cleared with null, back to the default wording and "any language".
const SettingsPatch = z.strictObject({ ...settingsFields, consentText: settingsFields.consentText.nullable(), language: language.nullable() }).partial();
export type Settings = z.output<typeof SettingsIn>;
export const CreateCampaign = z.strictObject({
  name: typedText(200),
  questions: z.array(QuestionIn).min(1).max(100),
  settings: SettingsIn.prefault({}),
});
export const PatchCampaign = z
  .strictObject({
    name: typedText(200).optional(),
    questions: z.array(QuestionIn).min(1).max(100).optional(),
    settings: SettingsPatch.optional(),
  })
  .refine((v) => Object.keys(v).length > 0, "send at least one of name, questions, settings");

export const Campaign = z.object({
  id: z.string(),
  name: z.string(),
  questions: z.array(z.object({ text: z.string(), probe: Probe })),
  settings: z.object({
    consentRequired: z.boolean(),
    consentText: z.string().optional(),
    mode: z.enum(["text", "voice"]),
    recordAudio: z.boolean(),
    language: z.string().optional(),
    browserTranscription: z.boolean().optional(),
  }),
  scriptVersion: z.number().int(),
  totalQuestions: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

// ---- invites ----
// Names are kept exactly as sent: a record keys its output by the parsed key, so a trimming schema
// would merge " plan" and "plan" into one attribute without a word. "__proto__" is refused for
// every body in jsonBody (a record would drop it silently).
const attributeName = z
  .string()
  .min(1)
  .max(64)
  .refine(hasVisibleText, "has no visible characters")
  .refine((k) => k === k.trim(), "no leading or trailing white space")
  .refine((k) => !/\p{Cc}/u.test(k), "no control characters");
const attributeValue = z.union([z.string().max(500), z.number(), z.boolean()]);
export const CreateInvite = z.strictObject({
  participant: z
    .strictObject({
      email: email.optional(),
      name: typedText(200).optional(),
      attributes: z.record(attributeName, attributeValue).refine((a) => Object.keys(a).length <= 50, "at most 50 attributes").optional(),
    })
    .prefault({}),
  expiresAt: isoDate.refine((d) => Date.parse(d) > Date.now(), "must be in the future").optional(),
  maxUses: z.number().int().min(1).max(10_000).default(1),
});
/** What the team may change on an invite: when it expires (later or sooner), and how many may use it. */
export const PatchInvite = z
  .strictObject({
    expiresAt: isoDate.refine((d) => Date.parse(d) > Date.now(), "must be in the future (revoke the invite to end it now)").optional(),
    maxUses: z.number().int().min(1).max(10_000).optional(),
  })
  .refine((b) => b.expiresAt !== undefined || b.maxUses !== undefined, { message: "name expiresAt or maxUses", path: ["expiresAt"] });
export const Invite = z.object({
  id: z.string(),
  campaignId: z.string(),
  participant: z.object({ email: z.string().nullable(), name: z.string().nullable(), attributes: z.record(z.string(), attributeValue) }),
  expiresAt: z.string().nullable(),
  maxUses: z.number().int(),
  uses: z.number().int(),
  sessionId: z.string().nullable(),
  createdAt: z.string(),
});
export const InviteCreated = Invite.extend({ token: z.string(), url: z.string() });

// ---- participant ----
export const Join = z.strictObject({
  // Any string is a token to look up: a truncated link is an unknown invite (404), not bad input.
  token: z.string().min(1).max(200),
  device: z
    .strictObject({
      userAgent: z.string().max(500).optional(),
      browser: z.string().max(100).optional(),
      os: z.string().max(100).optional(),
      deviceType: z.string().max(50).optional(),
    })
    .optional(),
  // A shared link (maxUses > 1) reopens a session only for the browser that holds its participant
  // token (the page keeps it); everyone else who opens the link gets an interview of their own.
  resume: z
    .strictObject({
      sessionId: idParam("ses"),
      participantToken: z.string().min(1).max(200),
    })
    .optional(),
  // Only resume `resume`'s session, never start one: the page asks this when its socket keeps
  // failing, to learn whether its interview still exists (410 SESSION_ENDED when it is over).
  resumeOnly: z.boolean().optional(),
});
export const Joined = z.object({
  sessionId: z.string(),
  participantToken: z.string(),
  status: z.enum(STATUSES),
  resumed: z.boolean(),
  consentRequired: z.boolean(),
  consentText: z.string().nullable(),
  totalQuestions: z.number().int(),
  mode: z.enum(["text", "voice"]),
  campaignName: z.string(),
  browserTranscription: z.boolean(),
  /** The campaign's language (BCP 47), or null: the page's speech recognition and voice use it. */
  language: z.string().nullable(),
});

// ---- sessions ----
const csv = <T extends string>(values: readonly [T, ...T[]]) =>
  z
    .string()
    .transform((s) => s.split(",").map((x) => x.trim()).filter(Boolean))
    .pipe(z.array(z.enum(values)).min(1));
const bool = z.enum(["true", "false"]).transform((v) => v === "true");
export const SessionFilters = z.strictObject({
  ...listQuery,
  status: csv(STATUSES).optional(),
  from: isoDate.optional(),
  to: isoDate.optional(),
  minDuration: queryInt(0).optional(),
  maxDuration: queryInt(0).optional(),
  minCompletion: queryInt(0, 100).optional(),
  maxCompletion: queryInt(0, 100).optional(),
  language: language.optional(),
  sentiment: csv(["positive", "neutral", "negative"] as const).optional(),
  flagged: bool.optional(),
  include: csv(["transcript", "analytics", "notes"] as const).optional(),
  format: z.enum(["json", "csv"]).default("json"),
}).superRefine(ordered(RANGE_PAIRS));
export type SessionFilters = z.output<typeof SessionFilters>;
export const SessionInclude = z.strictObject({ include: csv(["transcript", "analytics", "notes"] as const).optional() });

export const Segment = z.object({
  seq: z.number().int(),
  speaker: z.enum(["ai", "participant"]),
  text: z.string(),
  questionIndex: z.number().int(),
  followUp: z.boolean(),
  startMs: z.number().int(),
  endMs: z.number().int(),
  // A spoken answer: how it was transcribed (engine, confidence, the browser's hint).
  speech: z.record(z.string(), z.unknown()).optional(),
});
export const Session = z.object({
  id: z.string(),
  campaignId: z.string(),
  inviteId: z.string(),
  status: z.enum(STATUSES),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  completedAt: z.string().nullable(),
  duration: z.number().int(),
  questionsAnswered: z.number().int(),
  totalQuestions: z.number().int(),
  completion: z.number().int(),
  language: z.string().nullable(),
  device: z.record(z.string(), z.string()).nullable(),
  consent: z.object({ required: z.boolean(), granted: z.boolean().nullable(), at: z.string().nullable() }),
  flagged: z.boolean(),
  sentiment: z.enum(["positive", "neutral", "negative"]).nullable(),
  endReason: z.string().nullable(),
  lastQuestionIndex: z.number().int().nullable(),
  pausedReason: z.string().nullable(),
  scriptVersion: z.number().int(),
  endedAt: z.string().nullable(),
  pausedBy: z.enum(["participant", "admin"]).nullable(),
  flagReason: z.string().nullable(),
  // Only for roles that may read participants' personal data (not viewers).
  participant: z.object({ email: z.string().nullable(), name: z.string().nullable() }).optional(),
  transcript: z.array(Segment).optional(),
  notes: z.array(z.lazy(() => Note)).optional(),
  analytics: z.lazy(() => SessionAnalytics).optional(),
});

const Label = z.enum(["positive", "neutral", "negative"]);
// A session's analytics (GET /sessions/{id}/analytics, include=analytics, the export). Roles that
// may not read transcripts get no quotes (quotesHidden); lists leave out the AI summary.
export const SessionAnalytics = z.object({
  sessionId: z.string(),
  status: z.string(),
  partial: z.boolean(),
  duration: z.number(),
  sentiment: z.object({ overall: Label.nullable(), distribution: z.object({ positive: z.number().int(), neutral: z.number().int(), negative: z.number().int() }) }),
  answers: z.array(
    z.object({
      answerId: z.string(),
      questionIndex: z.number().int(),
      followUp: z.boolean(),
      sentiment: z.object({ label: Label, score: z.number() }).nullable(),
      themes: z.array(z.string()),
      wordCount: z.number().int(),
      relevance: z.number().nullable(),
      engagement: z.number().nullable(),
      lowConfidence: z.boolean(),
    }),
  ),
  themes: z.array(z.object({ theme: z.string(), count: z.number().int() })),
  quotes: z.array(z.object({ text: z.string(), questionIndex: z.number().int() })),
  quotesHidden: z.boolean().optional(),
  engagementScore: z.number(),
  responseRate: z.number(),
  averageResponseLength: z.number(),
  timePerQuestion: z.array(z.object({ questionIndex: z.number().int(), seconds: z.number() })),
  pauseCount: z.number().int(),
  longPauses: z.number().int(),
  dropOffQuestion: z.number().int().nullable(),
  declined: z.boolean().optional().meta({ description: "the participant declined consent or withdrew it before answering anything: abandoned, but no drop-off (dropOffQuestion is null)" }),
  analysed: z.boolean(),
  summary: z.unknown().optional(),
});
export const CampaignAnalyticsQuery = z
  .strictObject({
    from: isoDate.optional().meta({ description: "only sessions that started at or after this instant (a session never started, as one declined at the consent step, counts from when its link was opened)" }),
    to: isoDate.optional().meta({ description: "only sessions that started at or before this instant (same rule)" }),
  })
  .superRefine(ordered([["from", "to"]]));
export const CampaignAnalytics = z.object({
  sessions: z.object({
    total: z.number().int(),
    completed: z.number().int(),
    abandoned: z.number().int().meta({ description: "sessions whose status is abandoned, declined ones included" }),
    declined: z.number().int().meta({ description: "of the abandoned: participants who declined consent, or withdrew it before answering anything" }),
    droppedOut: z.number().int().meta({ description: "of the abandoned: participants who took part and stopped (abandoned − declined)" }),
    completionRate: z.number().nullable().meta({ description: "completed / (total − declined): completion among those who agreed to take part; null when none did" }),
    consentRate: z.number().nullable().meta({ description: "(total − declined) / total; null without finished sessions" }),
  }),
  funnel: z.array(z.object({ questionIndex: z.number().int(), reached: z.number().int(), answered: z.number().int(), dropped: z.number().int() })),
  duration: z.object({ mean: z.number().nullable(), median: z.number().nullable(), histogram: z.array(z.object({ from: z.number(), to: z.number(), count: z.number().int() })) }),
  sentimentTrend: z.array(z.object({ questionIndex: z.number().int(), positive: z.number(), neutral: z.number(), negative: z.number() })),
  topThemes: z.array(z.object({ theme: z.string(), count: z.number().int(), quotes: z.array(z.unknown()) })),
  responsePatterns: z.array(z.object({ questionIndex: z.number().int(), clusters: z.array(z.object({ label: z.string(), count: z.number().int(), examples: z.array(z.unknown()) })) })),
  range: z
    .object({
      from: z.string().nullable(),
      to: z.string().nullable(),
      themeQuotes: z.literal(false).meta({ description: "theme quotes are kept only for the whole campaign: within a range topThemes carry counts and no quotes" }),
    })
    .optional()
    .meta({ description: "present when from or to was given: the range the figures cover" }),
});
export const Transcript = z.object({
  sessionId: z.string(),
  segments: z.array(Segment),
  // Lifecycle events (consent, pauses, the end) with their times.
  events: z.array(z.record(z.string(), z.unknown())).optional(),
});

export const Reason = z.strictObject({ reason: z.string().trim().max(500).optional() });
export const Reassign = z.strictObject({ campaignId: idParam("cmp") });
export const NoteIn = z.strictObject({ text: typedText(10_000) });
export const FlagIn = z.strictObject({ flagged: z.boolean(), reason: z.string().trim().max(500).optional() });
export const Note = z.object({ id: z.string(), sessionId: z.string(), text: z.string(), author: z.object({ type: z.string(), id: z.string() }), createdAt: z.string() });
