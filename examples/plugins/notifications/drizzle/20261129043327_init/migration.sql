CREATE TYPE "channel" AS ENUM('email', 'sms', 'push', 'webhook');--> statement-breakpoint
CREATE TYPE "priority" AS ENUM('low', 'normal', 'high');--> statement-breakpoint
CREATE SEQUENCE "public"."notification_number_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 20;--> statement-breakpoint
CREATE TABLE "notifications" (
	"id" serial PRIMARY KEY,
	"number" bigint DEFAULT nextval('notification_number_seq') NOT NULL,
	"subscription_id" integer NOT NULL,
	"priority" "priority" DEFAULT 'normal'::"priority" NOT NULL,
	"body" text NOT NULL,
	"sent_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "subscriptions" (
	"id" serial PRIMARY KEY,
	"user_id" integer NOT NULL,
	"topic" text DEFAULT 'public' NOT NULL,
	"channel" "channel" DEFAULT 'email'::"channel" NOT NULL,
	"active" boolean DEFAULT true NOT NULL
);
--> statement-breakpoint
CREATE TABLE "users" (
	"id" serial PRIMARY KEY,
	"external_id" text NOT NULL,
	"locale" text DEFAULT 'en' NOT NULL
);
--> statement-breakpoint
CREATE INDEX "notifications_subscription_id_idx" ON "notifications" ("subscription_id");--> statement-breakpoint
CREATE INDEX "subscriptions_user_id_idx" ON "subscriptions" ("user_id");--> statement-breakpoint
ALTER TABLE "notifications" ADD CONSTRAINT "notifications_subscription_id_subscriptions_id_fkey" FOREIGN KEY ("subscription_id") REFERENCES "subscriptions"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD CONSTRAINT "subscriptions_user_id_users_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE;