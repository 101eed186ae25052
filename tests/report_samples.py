"""SQL texts with many findings and every kind of line break, for the report output tests.

Each text mixes what positions and the terminal view must get right: a BOM, ``\\r\\n``, lone ``\\r``,
tabs, multi-byte characters, several findings on one line, a qualifier split over lines, a line longer
than the terminal view shows, control characters in names, and findings of every code (SI01 to SI04).
"""

from __future__ import annotations

LONG_PADDING = "x" * 230

_BODY = [
    'CREATE TYPE "public"."status" AS ENUM(\'active\', \'public\');--> statement-breakpoint',
    '\tALTER TABLE "g" ADD CONSTRAINT "fk" FOREIGN KEY ("s") REFERENCES "public"."systems"("id") ON DELETE cascade;',
    'SELECT \'é🙂\' FROM public.a, "public"."b", public . c, public.d JOIN "public"."été🙂" ON true;',
    "SET search_path = public;",
    'CREATE INDEX CONCURRENTLY "i" ON "t" ("c");',
    "SELECT 1 FROM information_schema.tables WHERE table_schema = 'public' AND table_name = 'jobs';",
    f"SELECT '{LONG_PADDING}' FROM public.long_one, \"public\".\"long_two\" WHERE x = '{LONG_PADDING}';",
    'CREATE TABLE "public"\n.\n"split" ("id" int);',
    'CREATE TABLE public."new\nline" ("a\tb" int);',
    'DO $$ BEGIN\n\tCREATE TABLE public.in_body (id int);\n\tPERFORM 1 FROM public.other;\nEND $$;',
    'ALTER TABLE "t" ALTER COLUMN "c" SET DATA TYPE "public"."e" USING "c"::"public"."e";',
    "SELECT set_config('search_path', 'public', false);",
    "CREATE VIEW public.v AS SELECT 1;\t-- trailing comment with public.x in it",
    "SELECT 1 FROM public.\"\x1b[31mred\";",
]


def _joined(separator: str, bom: bool = False) -> str:
    return ("\ufeff" if bom else "") + separator.join(line.replace("\n", separator) for line in _BODY) + separator


#: name -> text; the names become file names in the tests.
SAMPLES: dict[str, str] = {
    "lf.sql": _joined("\n"),
    "crlf_bom.sql": _joined("\r\n", bom=True),
    "cr.sql": _joined("\r"),
    "mixed.sql": "\ufeff" + "".join(
        line + ("\n", "\r\n", "\r")[number % 3] for number, line in enumerate(_joined("\n").split("\n")[:-1])
    ),
    "no_final_break.sql": _joined("\r\n").rstrip("\r\n") + ' "public"."last"',
}
