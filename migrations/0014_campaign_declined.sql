ALTER TABLE `campaign_stats` ADD `declined` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
-- Sessions already folded whose participant declined consent or withdrew it before answering
-- (src/shared/declined.ts) were counted like sessions that dropped out: their durations (0 s or
-- a few) in the duration figures, and those who withdrew after the first question was shown as
-- reaching it and dropping out there. Count them as declined and take them back out of the
-- durations and the funnel. Only sessions still on record can be found: one erased since stays
-- counted as before (and not as declined). A count never goes below zero.
UPDATE campaign_stats SET
  declined = (SELECT COUNT(*) FROM sessions s WHERE s.campaign_id = campaign_stats.campaign_id AND s.status = 'abandoned' AND s.consent_granted = 0 AND s.questions_answered = 0 AND EXISTS (SELECT 1 FROM processed_messages p WHERE p.key = 'fold.session:' || s.id)),
  duration_sum = MAX(0, duration_sum - (SELECT COALESCE(SUM(s.duration), 0) FROM sessions s WHERE s.campaign_id = campaign_stats.campaign_id AND s.status = 'abandoned' AND s.consent_granted = 0 AND s.questions_answered = 0 AND EXISTS (SELECT 1 FROM processed_messages p WHERE p.key = 'fold.session:' || s.id))),
  duration_count = MAX(0, duration_count - (SELECT COUNT(*) FROM sessions s WHERE s.campaign_id = campaign_stats.campaign_id AND s.status = 'abandoned' AND s.consent_granted = 0 AND s.questions_answered = 0 AND EXISTS (SELECT 1 FROM processed_messages p WHERE p.key = 'fold.session:' || s.id)));
--> statement-breakpoint
UPDATE campaign_duration_buckets SET
  count = MAX(0, count - (SELECT COUNT(*) FROM sessions s WHERE s.campaign_id = campaign_duration_buckets.campaign_id AND s.duration = campaign_duration_buckets.bucket AND s.status = 'abandoned' AND s.consent_granted = 0 AND s.questions_answered = 0 AND EXISTS (SELECT 1 FROM processed_messages p WHERE p.key = 'fold.session:' || s.id)));
--> statement-breakpoint
UPDATE campaign_question_stats SET
  reached = MAX(0, reached - (SELECT COUNT(*) FROM sessions s WHERE s.campaign_id = campaign_question_stats.campaign_id AND s.last_question_index IS NOT NULL AND s.status = 'abandoned' AND s.consent_granted = 0 AND s.questions_answered = 0 AND EXISTS (SELECT 1 FROM processed_messages p WHERE p.key = 'fold.session:' || s.id))),
  dropped = MAX(0, dropped - (SELECT COUNT(*) FROM sessions s WHERE s.campaign_id = campaign_question_stats.campaign_id AND s.last_question_index IS NOT NULL AND s.status = 'abandoned' AND s.consent_granted = 0 AND s.questions_answered = 0 AND EXISTS (SELECT 1 FROM processed_messages p WHERE p.key = 'fold.session:' || s.id)))
WHERE question_index = 0;
