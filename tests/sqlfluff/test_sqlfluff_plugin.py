"""The plugin as sqlfluff users meet it: registration, names and groups, docs, config, noqa, the CLI."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from fluffhelp import RULE_NAMES, SI01, SI02, SI03, SI04, cli_command, lint_positions, linter
from sqlfluff.core import FluffConfig, Linter
from sqlfluff.core.errors import SQLFluffUserError
from sqlfluff.core.rules import get_ruleset

from drizzle_schema_isolation import strip_schema
from drizzle_schema_isolation.core.findings import CATALOG_SCHEMA_LOOKUP, Finding

ROOT = Path(__file__).resolve().parents[2]
DRIZZLE_FK = 'ALTER TABLE "g" ADD CONSTRAINT "fk" FOREIGN KEY ("s") REFERENCES "public"."systems"("id");\n'


def _manifest(code: str):  # type: ignore[no-untyped-def]
    return get_ruleset()._register[code]


# --- registration, names, groups, docs -------------------------------------------------------------


@pytest.mark.parametrize("code", [SI01, SI02, SI03, SI04])
def test_rules_are_registered_with_name_and_groups(code: str) -> None:
    manifest = _manifest(code)
    assert manifest.name == RULE_NAMES[code]
    assert set(manifest.groups) == {"all", "schema_isolation"}
    assert manifest.rule_class.__module__ == "drizzle_schema_isolation.sqlfluff_plugin.rules"


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        ("schema_isolation", {SI01, SI02, SI03, SI04}),
        ("schema_isolation.hardcoded_schema", {SI01}),
        ("schema_isolation.search_path", {SI02}),
        ("schema_isolation.non_atomic", {SI03}),
        ("schema_isolation.catalog_lookup", {SI04}),
        (SI01, {SI01}),
        ("SchemaIsolation_*", {SI01, SI02, SI03, SI04}),
    ],
)
def test_rule_selection(selection: str, expected: set[str]) -> None:
    config = FluffConfig(overrides={"dialect": "postgres", "rules": selection})
    assert set(Linter(config=config).get_rulepack().codes()) == expected


def test_docstrings_explain_the_rules() -> None:
    for code in RULE_NAMES:
        doc = _manifest(code).rule_class.__doc__
        assert "**Anti-pattern**" in doc and "**Best practice**" in doc and ".. code-block:: sql" in doc
        assert f"**Name**: ``{RULE_NAMES[code]}``" in doc
    si01 = _manifest(SI01).rule_class
    assert si01.is_fix_compatible and "sqlfluff fix`` compatible" in si01.__doc__
    assert "``forbidden_schemas``" in si01.__doc__
    for code in (SI02, SI03, SI04):
        assert not _manifest(code).rule_class.is_fix_compatible


def test_sqlfluff_rules_command_lists_them() -> None:
    result = subprocess.run([*cli_command("sqlfluff"), "rules"], capture_output=True, text=True, check=True)
    for code, name in RULE_NAMES.items():
        assert f"[{name}]" in result.stdout
        assert code[-10:] in result.stdout  # the table wraps the code's cell: "SchemaIsol" / "ation_SI01"


def test_default_config_comes_from_the_plugin() -> None:
    config = FluffConfig(overrides={"dialect": "postgres"})
    assert config.get("forbidden_schemas", section=["rules", "schema_isolation.hardcoded_schema"]) == "public"


# --- configuration ---------------------------------------------------------------------------------


def test_forbidden_schemas_from_a_config_file(tmp_path: Path) -> None:
    (tmp_path / ".sqlfluff").write_text(
        "[sqlfluff]\ndialect = postgres\nrules = schema_isolation\n\n"
        "[sqlfluff:rules:schema_isolation.hardcoded_schema]\nforbidden_schemas = app, Tenant\n",
        encoding="utf-8",
    )
    sql = 'SELECT * FROM app.t, "Tenant".u, public.v;\nSET search_path = app;\n'
    (tmp_path / "m.sql").write_text(sql, encoding="utf-8")
    result = Linter(config=FluffConfig.from_path(str(tmp_path))).lint_paths((str(tmp_path / "m.sql"),))
    assert lint_positions(result.get_violations()) == ["1:15 SI01", "1:22 SI01", "2:1 SI02"]


@pytest.mark.parametrize("value", ["", " , ", "x" * 64])
def test_invalid_forbidden_schemas_is_a_user_error(value: str) -> None:
    with pytest.raises(SQLFluffUserError, match="forbidden_schemas"):
        linter(schemas=[value]).lint_string("SELECT 1;\n")


# --- noqa ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reference", [SI01, "schema_isolation.hardcoded_schema", "schema_isolation", "all"])
def test_noqa_silences_and_keeps_the_qualifier(reference: str) -> None:
    sql = f'DROP TYPE "public"."a"; -- noqa: {reference}\nDROP TYPE "public"."b";\n'
    linted = linter().lint_string(sql, fix=True)
    assert lint_positions(linted.violations) == ["2:11 SI01"]
    assert linted.fix_string()[0] == 'DROP TYPE "public"."a"; -- noqa: ' + reference + '\nDROP TYPE "b";\n'


def test_noqa_inside_a_shared_body_keeps_only_the_silenced_qualifier() -> None:
    """Two findings in one DO body share one fixed segment: the silenced one must survive the fix."""
    sql = "DO $$ BEGIN\n  PERFORM public.f();\n  PERFORM public.g(); END $$; -- noqa: schema_isolation.hardcoded_schema\n"
    linted = linter().lint_string(sql, fix=True)
    assert lint_positions(linted.violations) == ["2:11 SI01"]
    assert linted.fix_string()[0] == sql.replace("public.f", "f")


def test_noqa_for_hazards() -> None:
    sql = "SET search_path = public; -- noqa: schema_isolation.search_path\nSET search_path = public;\n"
    assert lint_positions(linter().lint_string(sql).violations) == ["2:1 SI02"]


def test_noqa_for_non_atomic_statements() -> None:
    sql = "CREATE INDEX CONCURRENTLY i ON t (a); -- noqa: schema_isolation.non_atomic\nCOMMIT;\n"
    assert lint_positions(linter().lint_string(sql).violations) == ["2:1 SI03"]


# --- SI04, whatever the core reports -------------------------------------------------------------


def test_catalog_lookup_rule_reports_the_cores_si04_findings_without_fixing(monkeypatch: pytest.MonkeyPatch) -> None:
    """SI04 places what analyze() reports (injected here, so the rule is tested apart from the detector),
    and never applies a fix, even when the finding carries the rewrite's deletions."""
    sql = "SELECT 1 FROM information_schema.tables\nWHERE table_schema = 'public' AND table_name = 't';\n"
    literal = sql.index("'public'")

    def analyze_with_lookup(text: str, schemas: object) -> list[Finding]:
        assert text == sql
        return [Finding(CATALOG_SCHEMA_LOOKUP, literal, literal + 8, "catalog lookup by schema name", ((literal, literal + 8),))]

    rules = _manifest(SI04).rule_class.__module__  # imported by sqlfluff, after the plugin's config (see get_rules)
    monkeypatch.setattr(f"{rules}.analyze", analyze_with_lookup)
    monkeypatch.setattr(f"{rules}._last_scan", [None, None, None])
    linted = linter().lint_string(sql, fix=True)
    ours = [v for v in linted.violations if v.rule_code() in RULE_NAMES]
    assert [(v.rule_code(), v.line_no, v.line_pos, v.desc(), v.fixable) for v in ours] == [
        (SI04, 2, 22, "catalog lookup by schema name", False)
    ]
    assert linted.fix_string()[0] == sql


# --- the sqlfluff command line ---------------------------------------------------------------------


def _sqlfluff(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*cli_command("sqlfluff"), *args], capture_output=True, text=True, cwd=cwd)


def test_sqlfluff_lint_and_fix_on_a_file(tmp_path: Path) -> None:
    path = tmp_path / "0000_init.sql"
    sql = (
        'CREATE TYPE "public"."status" AS ENUM(\'active\', \'public\');--> statement-breakpoint\n'
        "DO $$ BEGIN\n ALTER TABLE \"g\" ADD CONSTRAINT \"fk\" FOREIGN KEY (\"s\") REFERENCES \"public\".\"s\"(\"id\");\n"
        "EXCEPTION\n WHEN duplicate_object THEN null;\nEND $$;\n"
    )
    path.write_text(sql, encoding="utf-8")
    lint = _sqlfluff("lint", "--dialect", "postgres", "--rules", "schema_isolation", path.name, cwd=tmp_path)
    assert lint.returncode == 1, lint.stdout + lint.stderr
    assert "L:   1 | P:  13 | SchemaIsolation_SI01" in lint.stdout
    assert "L:   3 | P:  67 | SchemaIsolation_SI01" in lint.stdout
    fix = _sqlfluff("fix", "--dialect", "postgres", "--rules", "schema_isolation", path.name, cwd=tmp_path)
    assert fix.returncode == 0, fix.stdout + fix.stderr
    assert path.read_text(encoding="utf-8") == strip_schema(sql)
    clean = _sqlfluff("lint", "--dialect", "postgres", "--rules", "schema_isolation", path.name, cwd=tmp_path)
    assert clean.returncode == 0, clean.stdout


def test_sqlfluff_fix_needs_fix_even_unparsable_for_parse_errors(tmp_path: Path) -> None:
    """sqlfluff's own policy: a file with a parse error is left alone unless asked explicitly."""
    path = tmp_path / "m.sql"
    sql = "SELECT * FROM public . t;\nDROP TYPE \"public\".\"e\";\n"
    path.write_text(sql, encoding="utf-8")
    base = ["fix", "--dialect", "postgres", "--rules", "schema_isolation", path.name]
    refused = _sqlfluff(*base, cwd=tmp_path)
    assert refused.returncode == 1 and path.read_text(encoding="utf-8") == sql
    forced = _sqlfluff(*base, "--FIX-EVEN-UNPARSABLE", cwd=tmp_path)
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert path.read_text(encoding="utf-8") == strip_schema(sql) == 'SELECT * FROM   t;\nDROP TYPE "e";\n'


def test_the_pre_commit_hook_entry_runs_these_rules(tmp_path: Path) -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    hook = next(h for h in hooks if h["id"] == "drizzle-schema-sqlfluff")
    assert hook["language"] == "python" and hook["types"] == ["sql"]
    command, *arguments = hook["entry"].split()
    assert command == "drizzle-schema-isolation" and arguments == ["sqlfluff-lint"]

    def hook_run(name: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*cli_command(command), *arguments, name], capture_output=True, text=True, cwd=tmp_path)

    (tmp_path / "bad.sql").write_text(DRIZZLE_FK, encoding="utf-8")
    (tmp_path / "good.sql").write_text(strip_schema(DRIZZLE_FK), encoding="utf-8")
    bad = hook_run("bad.sql")
    assert bad.returncode == 1 and SI01 in bad.stdout, bad.stdout + bad.stderr
    good = hook_run("good.sql")
    assert good.returncode == 0, good.stdout + good.stderr
    # Only our rules run: badly formatted but schema-free SQL passes.
    (tmp_path / "ugly.sql").write_text("select  A,b  FROM   t\n", encoding="utf-8")
    assert hook_run("ugly.sql").returncode == 0


def test_all_rules_together_still_remove_the_qualifiers(tmp_path: Path) -> None:
    """With every core rule on (sqlfluff's default), our fixes coexist with the layout fixes."""
    sql = 'ALTER TABLE "t" ALTER COLUMN "s" SET DATA TYPE "public"."e" USING "s"::"public"."e";\n'
    linted = linter(rules="all").lint_string(sql, fix=True)
    fixed = linted.fix_string()[0]
    assert '"public"' not in fixed
    assert lint_positions(e for e in linted.violations if e.rule_code() in (SI01, SI02)) == ["1:48 SI01", "1:72 SI01"]


def test_noqa_range_around_a_do_body() -> None:
    """Lines inside a dollar-quoted body cannot carry a comment: a disable/enable range silences them."""
    sql = (
        "-- noqa: disable=schema_isolation.hardcoded_schema\n"
        "DO $$ BEGIN\n  PERFORM public.f();\nEND $$;\n"
        "-- noqa: enable=schema_isolation.hardcoded_schema\n"
        "DO $$ BEGIN\n  PERFORM public.g();\nEND $$;\n"
    )
    linted = linter().lint_string(sql, fix=True)
    assert lint_positions(linted.violations) == ["7:11 SI01"]
    assert linted.fix_string()[0] == sql.replace("public.g", "g")


def test_templated_qualifiers_are_left_to_the_template() -> None:
    """Under Jinja, a qualifier produced by the template is not reported or edited (sqlfluff's policy
    for templated code); qualifiers in the literal SQL around it are."""
    sql = 'SELECT * FROM {{ "public" }}.t, public.u;\n'
    linted = linter(templater="jinja").lint_string(sql, fix=True)
    assert lint_positions(linted.violations) == ["1:33 SI01"]
    assert linted.fix_string()[0] == 'SELECT * FROM {{ "public" }}.t, u;\n'


def test_parallel_sqlfluff_runs_the_plugin_in_workers(tmp_path: Path) -> None:
    for index in range(4):
        (tmp_path / f"m{index}.sql").write_text(DRIZZLE_FK, encoding="utf-8")
    base = ["--dialect", "postgres", "--rules", "schema_isolation", "--processes", "2", "."]
    lint = _sqlfluff("lint", *base, cwd=tmp_path)
    assert lint.returncode == 1 and lint.stdout.count(SI01) == 4, lint.stdout + lint.stderr
    _sqlfluff("fix", *base, cwd=tmp_path)
    for index in range(4):
        assert (tmp_path / f"m{index}.sql").read_text(encoding="utf-8") == strip_schema(DRIZZLE_FK)
