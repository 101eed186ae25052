"""``python -m drizzle_schema_isolation``: the same command line as the console script."""

from drizzle_schema_isolation.cli import main

main()
