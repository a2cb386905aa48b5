CREATE TABLE `exports` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`campaign_id` text NOT NULL,
	`format` text NOT NULL,
	`params` text NOT NULL,
	`status` text NOT NULL,
	`session_count` integer NOT NULL,
	`sessions_done` integer NOT NULL,
	`requested_by_type` text NOT NULL,
	`requested_by` text NOT NULL,
	`object_key` text,
	`size_bytes` integer,
	`error` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`expires_at` integer
);
--> statement-breakpoint
CREATE INDEX `exports_org_created_idx` ON `exports` (`org_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `notifications` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`recipient_type` text NOT NULL,
	`recipient_id` text NOT NULL,
	`kind` text NOT NULL,
	`subject` text NOT NULL,
	`body` text NOT NULL,
	`data` text,
	`created_at` integer NOT NULL,
	`sent_at` integer
);
--> statement-breakpoint
CREATE INDEX `notifications_recipient_idx` ON `notifications` (`org_id`,`recipient_id`,`created_at`);