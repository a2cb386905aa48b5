CREATE TABLE `live_watchers` (
	`principal_id` text NOT NULL,
	`kind` text NOT NULL,
	`target_id` text NOT NULL,
	`org_id` text NOT NULL,
	`connected_at` integer NOT NULL,
	PRIMARY KEY(`principal_id`, `kind`, `target_id`)
);
