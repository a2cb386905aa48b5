CREATE TABLE `answer_analysis` (
	`session_id` text NOT NULL,
	`answer_id` text NOT NULL,
	`org_id` text NOT NULL,
	`campaign_id` text NOT NULL,
	`question_index` integer NOT NULL,
	`follow_up` integer NOT NULL,
	`word_count` integer NOT NULL,
	`sentiment_label` text,
	`sentiment_score` real,
	`themes` text NOT NULL,
	`relevance` real,
	`engagement` real,
	`confidence` real,
	`low_confidence` integer NOT NULL,
	`duration_ms` integer,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`session_id`, `answer_id`)
);
--> statement-breakpoint
CREATE INDEX `answer_analysis_campaign_idx` ON `answer_analysis` (`campaign_id`,`question_index`);--> statement-breakpoint
CREATE TABLE `processed_messages` (
	`key` text PRIMARY KEY NOT NULL,
	`processed_at` integer NOT NULL
);
