-- Per-question sentiment counts main answers only (one per session and question): follow-up
-- replies were folded in too, weighting deep-probed questions about 3x and toward "neutral".
-- Take the follow-ups still on record back out (an erased or expired session's follow-ups are no
-- longer on record and stay counted; a count never goes below zero).
UPDATE campaign_question_stats SET
  positive = MAX(0, positive - (SELECT COUNT(*) FROM answer_analysis a WHERE a.campaign_id = campaign_question_stats.campaign_id AND a.question_index = campaign_question_stats.question_index AND a.follow_up = 1 AND a.sentiment_label = 'positive')),
  neutral = MAX(0, neutral - (SELECT COUNT(*) FROM answer_analysis a WHERE a.campaign_id = campaign_question_stats.campaign_id AND a.question_index = campaign_question_stats.question_index AND a.follow_up = 1 AND a.sentiment_label = 'neutral')),
  negative = MAX(0, negative - (SELECT COUNT(*) FROM answer_analysis a WHERE a.campaign_id = campaign_question_stats.campaign_id AND a.question_index = campaign_question_stats.question_index AND a.follow_up = 1 AND a.sentiment_label = 'negative'))
WHERE EXISTS (SELECT 1 FROM answer_analysis a WHERE a.campaign_id = campaign_question_stats.campaign_id AND a.question_index = campaign_question_stats.question_index AND a.follow_up = 1 AND a.sentiment_label IS NOT NULL);
