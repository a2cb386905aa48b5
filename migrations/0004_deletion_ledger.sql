CREATE TABLE `deletion_ledger` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`subject_hash` text,
	`session_ids` text NOT NULL,
	`actor` text NOT NULL,
	`deleted_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `deletion_ledger_org_idx` ON `deletion_ledger` (`org_id`);