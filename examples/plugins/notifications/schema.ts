// "notifications" backend plugin: per-user subscriptions to topics and the
// notifications sent for them. It keeps its own "users" table (plugin accounts),
// distinct from any public.users in the host database.
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  index,
  integer,
  pgEnum,
  pgSequence,
  pgTable,
  serial,
  text,
  timestamp,
} from 'drizzle-orm/pg-core';

export const channel = pgEnum('channel', ['email', 'sms', 'push', 'webhook']);
export const priority = pgEnum('priority', ['low', 'normal', 'high']);

export const notificationNumberSeq = pgSequence('notification_number_seq', { startWith: 1, cache: 20 });

export const users = pgTable('users', {
  id: serial('id').primaryKey(),
  externalId: text('external_id').notNull(),
  locale: text('locale').notNull().default('en'),
});

export const subscriptions = pgTable('subscriptions', {
  id: serial('id').primaryKey(),
  userId: integer('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  topic: text('topic').notNull().default('public'),
  channel: channel('channel').notNull().default('email'),
  active: boolean('active').notNull().default(true),
}, (t) => [index('subscriptions_user_id_idx').on(t.userId)]);

export const notifications = pgTable('notifications', {
  id: serial('id').primaryKey(),
  number: bigint('number', { mode: 'number' }).notNull().default(sql`nextval('notification_number_seq')`),
  subscriptionId: integer('subscription_id').notNull().references(() => subscriptions.id, { onDelete: 'cascade' }),
  priority: priority('priority').notNull().default('normal'),
  body: text('body').notNull(),
  sentAt: timestamp('sent_at', { withTimezone: true }),
}, (t) => [index('notifications_subscription_id_idx').on(t.subscriptionId)]);
