"""The pure detection core: PostgreSQL's lexical rules, the finder, span rewrites. No I/O here."""
