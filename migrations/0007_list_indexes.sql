DROP INDEX `sessions_campaign_status_idx`;--> statement-breakpoint
CREATE INDEX `sessions_campaign_flagged_idx` ON `sessions` (`campaign_id`,`flagged`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `sessions_campaign_status_idx` ON `sessions` (`campaign_id`,`status`,`created_at`,`id`);