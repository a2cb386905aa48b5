DROP INDEX `sessions_campaign_created_idx`;--> statement-breakpoint
DROP INDEX `sessions_campaign_status_idx`;--> statement-breakpoint
CREATE INDEX `sessions_campaign_created_idx` ON `sessions` (`campaign_id`,`created_at`,`id`,`duration`,`language`,`completion`,`status`);--> statement-breakpoint
CREATE INDEX `sessions_campaign_status_idx` ON `sessions` (`campaign_id`,`status`,`created_at`,`id`,`duration`,`language`,`completion`);