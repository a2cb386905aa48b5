CREATE TABLE `saved_reports` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`name` text NOT NULL,
	`definition` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`last_run_at` integer,
	FOREIGN KEY (`org_id`) REFERENCES `orgs`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `saved_reports_org_idx` ON `saved_reports` (`org_id`,`created_at`);--> statement-breakpoint
ALTER TABLE `campaigns` ADD `retention` text;--> statement-breakpoint
ALTER TABLE `orgs` ADD `retention` text;--> statement-breakpoint
ALTER TABLE `sessions` ADD `transcript_purged_at` integer;--> statement-breakpoint
ALTER TABLE `sessions` ADD `audio_purged_at` integer;--> statement-breakpoint
ALTER TABLE `sessions` ADD `analytics_purged_at` integer;--> statement-breakpoint
CREATE INDEX `sessions_org_completed_idx` ON `sessions` (`org_id`,`completed_at`);