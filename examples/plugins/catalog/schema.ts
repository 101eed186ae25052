// "catalog" backend plugin: products in categories, owned by the plugin's own users.
// The host application installs each plugin into its own PostgreSQL schema, so the
// plugin's "users" table must never resolve to the host's public.users.
import { sql } from 'drizzle-orm';
import {
  index,
  integer,
  numeric,
  pgEnum,
  pgSequence,
  pgTable,
  serial,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

export const listingVisibility = pgEnum('listing_visibility', ['public', 'unlisted', 'private']);
export const productStatus = pgEnum('product_status', ['draft', 'active', 'retired']);

export const skuSeq = pgSequence('sku_seq', { startWith: 10000, increment: 1 });

export const users = pgTable('users', {
  id: serial('id').primaryKey(),
  handle: text('handle').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [uniqueIndex('users_handle_idx').on(t.handle)]);

export const categories = pgTable('categories', {
  id: serial('id').primaryKey(),
  parentId: integer('parent_id'),
  name: text('name').notNull(),
  slug: text('slug').notNull(),
}, (t) => [uniqueIndex('categories_slug_idx').on(t.slug)]);

export const products = pgTable('products', {
  id: serial('id').primaryKey(),
  sku: integer('sku').notNull().default(sql`nextval('sku_seq')`),
  categoryId: integer('category_id').notNull().references(() => categories.id, { onDelete: 'cascade' }),
  ownerId: integer('owner_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  title: text('title').notNull(),
  price: numeric('price', { precision: 10, scale: 2 }).notNull(),
  status: productStatus('status').notNull().default('draft'),
  visibility: listingVisibility('visibility').notNull().default('public'),
  imageUrl: text('image_url').default('https://cdn.example.com/public/placeholder.png'),
}, (t) => [
  index('products_category_id_idx').on(t.categoryId),
  index('products_owner_id_idx').on(t.ownerId),
]);
