"""One vocabulary, one exit-code convention and honest output for ``check``/``fix`` (issue 9)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from drizzle_schema_isolation import __version__, cli

QUALIFIED = 'DROP TYPE "public"."e";\n'
CLEAN = 'DROP TYPE "e";\n'
HINT = "(1 fixable with `drizzle-schema-isolation fix`)"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli.main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def sql(tmp_path: Path, text: str, name: str = "a.sql") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


# --- --forbidden-schema / -F ---------------------------------------------------------------------


@pytest.mark.parametrize("verb", ["check", "fix"])
@pytest.mark.parametrize("option", ["-F", "--forbidden-schema"])
def test_forbidden_schema_option(tmp_path: Path, verb: str, option: str) -> None:
    path = sql(tmp_path, "DROP VIEW app.v;\nDROP VIEW public.w;\n")
    code, out, err = run(verb, option, "app", path)
    assert code == 1 and err == ""
    assert "app.v" not in Path(path).read_text() if verb == "fix" else ":1:11: SI01" in out
    assert "public.w" in Path(path).read_text()


@pytest.mark.parametrize("verb", ["check", "fix"])
@pytest.mark.parametrize("old", ["-s", "--schema"])
def test_the_old_schema_option_is_gone_from_check_and_fix(tmp_path: Path, verb: str, old: str) -> None:
    """``--schema``/``-s`` now mean the target schema of apply/status/verify: never the one removed."""
    code, _, err = run(verb, old, "app", sql(tmp_path, QUALIFIED))
    assert code == 2 and "No such option" in err


@pytest.mark.parametrize("verb", ["check", "fix"])
def test_a_forbidden_schema_with_capitals_gets_a_warning(tmp_path: Path, verb: str) -> None:
    path = sql(tmp_path, 'DROP TYPE "Public"."e";\n')
    code, _, err = run(verb, "-F", "Public", path)
    assert code == 1  # the warning changes nothing else: the quoted "Public" is still found
    assert err.splitlines() == [
        'warning: forbidden schema "Public" has upper-case letters, so it matches only the quoted "Public" '
        "(unquoted Public means public); did you mean --forbidden-schema public?"
    ]


@pytest.mark.parametrize("verb", ["check", "fix"])
def test_a_forbidden_schema_found_in_no_file_gets_a_warning(tmp_path: Path, verb: str) -> None:
    sql(tmp_path, QUALIFIED)
    sql(tmp_path, "SELECT 1;\n", "b.sql")
    code, _, err = run(verb, "-F", "plugin_catlog", "-F", "public", str(tmp_path))
    assert code == 1
    assert err.splitlines() == ['warning: forbidden schema "plugin_catlog" does not appear in the 2 files checked: mistyped?']


def test_mentions_count_in_any_case_and_as_whole_words_only(tmp_path: Path) -> None:
    path = sql(tmp_path, "SELECT 1 FROM APP_x, xapp;\n")
    assert run("check", "-F", "app", path)[2].startswith('warning: forbidden schema "app" does not appear')
    mentioned = sql(tmp_path, "-- moved from APP . t\nSELECT 1;\n", "b.sql")
    assert run("check", "-F", "app", mentioned) == (0, "", "")


def test_the_default_schema_never_warns(tmp_path: Path) -> None:
    assert run("check", sql(tmp_path, "SELECT 1;\n")) == (0, "", "")


# --- output --------------------------------------------------------------------------------------


def test_non_terminal_output_ends_with_a_summary_and_the_fix_hint(tmp_path: Path) -> None:
    first = sql(tmp_path, QUALIFIED)
    second = sql(tmp_path, QUALIFIED + "SET search_path = x;\n", "b.sql")
    code, out, _ = run("check", first, second)
    assert code == 1
    assert out.splitlines()[-1] == "Found 3 errors in 2 files (2 fixable with `drizzle-schema-isolation fix`)."
    assert run("check", "--format", "github", first)[1].splitlines()[-1] == f"Found 1 error in 1 file {HINT}."


def test_summary_without_fixable_findings(tmp_path: Path) -> None:
    out = run("check", sql(tmp_path, "SET search_path = x;\n"))[1]
    assert out.splitlines()[-1] == "Found 1 error in 1 file (none fixable automatically)."


#: What the core (core.statements, through core.analysis.analyze) says about CREATE INDEX CONCURRENTLY.
SI03_START = "SI03 warning: CREATE INDEX CONCURRENTLY cannot run inside a transaction block"


def test_warnings_are_shown_as_warnings_and_do_not_fail_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = sql(tmp_path, "CREATE INDEX CONCURRENTLY i ON t (c);\n")
    code, out, _ = run("check", path)
    assert code == 0
    assert out.splitlines() == [
        f"{path}:1:1: {SI03_START}" + out.splitlines()[0].split(SI03_START, 1)[1],
        "Found 1 warning in 1 file (warnings do not fail the check).",
    ]
    assert out.startswith(f"{path}:1:1: {SI03_START}")
    code, out, _ = run("check", "--format", "json", path)
    assert code == 0 and [item["severity"] for item in json.loads(out)] == ["warning"]
    code, out, _ = run("check", "--format", "github", path)
    assert code == 0 and out.startswith("::warning file=")
    code, out, _ = run("check", "--show-source", "--color", "never", path)
    assert code == 0 and f"{path}:1:1: {SI03_START}" in out and "help: a warning, not a failure" in out


def test_errors_still_fail_next_to_warnings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = sql(tmp_path, "CREATE INDEX CONCURRENTLY i ON public.t (c);\n")
    code, out, _ = run("check", path)
    assert code == 1
    assert out.splitlines()[-1] == f"Found 1 error and 1 warning in 1 file {HINT}."


def test_fix_does_not_fail_because_of_warnings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = sql(tmp_path, "CREATE INDEX CONCURRENTLY i ON t (c);\n")
    code, out, _ = run("fix", path)
    assert code == 0
    assert len(out.splitlines()) == 1 and out.startswith(f"{path}:1:1: {SI03_START}")
    Path(path).write_text("CREATE INDEX CONCURRENTLY i ON public.t (c);\n")
    assert run("fix", path)[0] == 1  # changed a file
    assert run("fix", path)[0] == 0  # then only the warning is left


# --- --version and --help ------------------------------------------------------------------------


@pytest.mark.parametrize("command", [[], ["check"], ["fix"], ["apply"], ["verify"]])
def test_every_command_answers_version(command: list[str]) -> None:
    code, out, _ = run(*command, "--version")
    assert (code, out) == (0, f"drizzle-schema-isolation, version {__version__}\n")


@pytest.mark.parametrize("command", [[], ["check"], ["fix"]])
def test_short_version_flag(command: list[str]) -> None:
    assert run(*command, "-V")[1] == f"drizzle-schema-isolation, version {__version__}\n"


def test_top_level_help_lists_each_command_once() -> None:
    code, out, _ = run("--help")
    assert code == 0
    listed = [line.split()[0] for line in out.split("Commands:")[1].splitlines() if line.strip()]
    assert listed == sorted(set(listed)) and {"check", "fix", "apply", "verify"} <= set(listed)
    assert "sqlfluff-lint" not in listed  # the hook's entry point is not a user command
    assert out.count("check ") == 1


# --- explicitly named files that are not SQL -----------------------------------------------------


@pytest.mark.parametrize("verb", ["check", "fix"])
def test_a_named_file_that_is_not_sql_is_rejected_not_lexed(tmp_path: Path, verb: str) -> None:
    schema_ts = tmp_path / "schema.ts"
    schema_ts.write_text("export const t = pgTable('t', { id: text(\"it's\") });\n")
    good = sql(tmp_path, QUALIFIED)
    code, out, err = run(verb, str(schema_ts), good)
    assert code == 2
    assert err.splitlines() == [f"{schema_ts}: error: not a .sql file: only SQL migrations are checked (skipped)"]
    assert good in out  # the SQL file is still processed


def test_folders_still_pick_sql_files_only(tmp_path: Path) -> None:
    (tmp_path / "schema.ts").write_text("'")
    sql(tmp_path, CLEAN, "UPPER.SQL")
    assert run("check", str(tmp_path)) == (0, "", "")


# --- exit codes: 0 clean, 1 findings or failures, 2 usage and input errors -----------------------


EXIT_CASES = [
    ("check clean", ["check", "{clean}"], 0),
    ("check findings", ["check", "{qualified}"], 1),
    ("check hazard only", ["check", "{hazard}"], 1),
    ("check unknown option", ["check", "--nope", "{clean}"], 2),
    ("check no path", ["check"], 2),
    ("check bad format", ["check", "--format", "xml", "{clean}"], 2),
    ("check missing file", ["check", "{missing}"], 2),
    ("check invalid SQL", ["check", "{invalid}"], 2),
    ("check not SQL", ["check", "{typescript}"], 2),
    ("check empty schema", ["check", "-F", "", "{clean}"], 2),
    ("fix clean", ["fix", "{clean}"], 0),
    ("fix changes", ["fix", "{qualified}"], 1),
    ("fix hazard left", ["fix", "{hazard}"], 1),
    ("fix diff", ["fix", "--diff", "{qualified}"], 1),
    ("fix missing file", ["fix", "{missing}"], 2),
    ("fix invalid SQL", ["fix", "{invalid}"], 2),
    ("fix unknown option", ["fix", "--nope", "{clean}"], 2),
    ("unknown command", ["nope"], 2),
]


@pytest.mark.parametrize(("argv", "expected"), [case[1:] for case in EXIT_CASES], ids=[case[0] for case in EXIT_CASES])
def test_exit_code_convention(tmp_path: Path, argv: list[str], expected: int) -> None:
    names = {
        "clean": sql(tmp_path, CLEAN, "clean.sql"),
        "qualified": sql(tmp_path, QUALIFIED, "qualified.sql"),
        "hazard": sql(tmp_path, "SET search_path = x;\n", "hazard.sql"),
        "invalid": sql(tmp_path, "SELECT 'x;\n", "invalid.sql"),
        "typescript": sql(tmp_path, "x", "schema.ts"),
        "missing": str(tmp_path / "missing.sql"),
    }
    code, _, err = run(*(part.format(**names) for part in argv))
    assert code == expected, err
    assert "Traceback" not in err
