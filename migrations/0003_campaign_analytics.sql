CREATE TABLE `campaign_duration_buckets` (
	`campaign_id` text NOT NULL,
	`bucket` integer NOT NULL,
	`count` integer NOT NULL,
	PRIMARY KEY(`campaign_id`, `bucket`)
);
--> statement-breakpoint
CREATE TABLE `campaign_question_stats` (
	`campaign_id` text NOT NULL,
	`question_index` integer NOT NULL,
	`reached` integer NOT NULL,
	`answered` integer NOT NULL,
	`dropped` integer NOT NULL,
	`positive` integer NOT NULL,
	`neutral` integer NOT NULL,
	`negative` integer NOT NULL,
	PRIMARY KEY(`campaign_id`, `question_index`)
);
--> statement-breakpoint
CREATE TABLE `campaign_stats` (
	`campaign_id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`total` integer NOT NULL,
	`completed` integer NOT NULL,
	`abandoned` integer NOT NULL,
	`duration_sum` integer NOT NULL,
	`duration_count` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `campaign_theme_stats` (
	`campaign_id` text NOT NULL,
	`question_index` integer NOT NULL,
	`theme` text NOT NULL,
	`count` integer NOT NULL,
	`examples` text NOT NULL,
	PRIMARY KEY(`campaign_id`, `question_index`, `theme`)
);
