// The analytics API's JSON as the dashboard reads it (GET /v1/campaigns/{id}/analytics,
// GET /v1/sessions/{id}/analytics, POST /v1/reports, /v1/reports/saved).
import type { Sentiment } from "./types";

export interface CampaignAnalytics {
  campaignId: string;
  /** abandoned includes declined; droppedOut = abandoned − declined; completionRate is over total − declined. */
  sessions: { total: number; completed: number; abandoned: number; declined: number; droppedOut: number; completionRate: number | null; consentRate: number | null };
  funnel: { questionIndex: number; reached: number; answered: number; dropped: number }[];
  duration: { mean: number; median: number; histogram: { from: number; to: number; count: number }[] };
  sentimentTrend: { questionIndex: number; positive: number; neutral: number; negative: number }[];
  topThemes: { theme: string; count: number; quotes: string[] }[];
  responsePatterns: { questionIndex: number; clusters: { label: string; count: number; examples: string[] }[] }[];
  quotesHidden?: boolean;
  /** Present when the figures cover a date range (from/to). */
  range?: { from: string | null; to: string | null; themeQuotes: false };
}

export interface SessionAnalytics {
  sessionId: string;
  status: string;
  partial: boolean;
  duration: number;
  sentiment: { overall: Sentiment | null; distribution: { positive: number; neutral: number; negative: number } };
  answers: { answerId: string; questionIndex: number; followUp: boolean; sentiment: { label: Sentiment; score: number } | null; themes: string[]; wordCount: number; relevance: number | null; engagement: number | null; lowConfidence: boolean }[];
  themes: { theme: string; count: number }[];
  quotes: { text: string; questionIndex: number }[];
  engagementScore: number;
  responseRate: number;
  averageResponseLength: number;
  timePerQuestion: { questionIndex: number; seconds: number }[];
  pauseCount: number;
  longPauses: number;
  dropOffQuestion: number | null;
  declined?: boolean;
  analysed: boolean;
  summary: string | null;
  quotesHidden?: boolean;
}

export const METRICS = ["sessions", "completed", "abandoned", "declined", "completionRate", "meanDuration", "answers", "positive", "neutral", "negative", "meanEngagement"] as const;
export type Metric = (typeof METRICS)[number];
export type GroupBy = "campaign" | "question" | "date" | "segment";

export interface ReportDefinition {
  campaignIds: string[];
  from?: string;
  to?: string;
  metrics: Metric[];
  groupBy: GroupBy;
  segmentAttribute?: string;
  format?: "json" | "csv";
}

export interface ReportResult {
  groupBy: GroupBy;
  metrics: Metric[];
  data: Record<string, string | number | null>[];
}

export interface SavedReport {
  id: string;
  name: string;
  definition: ReportDefinition;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  lastRunAt: string | null;
}
