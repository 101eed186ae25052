"""The runtime face: applying drizzle folders into schemas, talking to PostgreSQL."""
