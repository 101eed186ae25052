ALTER TYPE "public"."visibility" ADD VALUE 'unlisted';--> statement-breakpoint
CREATE VIEW "public"."public_items" AS (select "id", "title" from "items" where "items"."visibility" = 'public');
