"""The committed catalog in models/ is exactly what `dlnsys models regenerate` writes."""
from __future__ import annotations

import os

import pytest

from dlnsys.emit.catalog import catalog_files, catalog_specs, check, regenerate
from dlnsys.emit.json import load_spec

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "models")


def test_catalog_is_reproduced_byte_for_byte():
    changed, missing, stale, notes = check(ROOT)
    assert not (changed or missing or stale), (
        f"models/ is out of date (run 'dlnsys models regenerate'): changed {changed}, missing {missing}, "
        f"stale {stale}")


def test_regeneration_is_deterministic(tmp_path):
    a, _ = catalog_files()
    b, _ = catalog_files()
    assert a == b
    written, _ = regenerate(str(tmp_path))
    assert sorted(written) == sorted(a)
    assert check(str(tmp_path))[:3] == ([], [], [])


def test_catalog_contents():
    names = [s.name for s, _ in catalog_specs()]
    for required in ("paper62", "paper65", "paper66", "sec61", "logistic_h2", "logistic_h3", "logistic_h4",
                     "logistic_h5", "diag_dy4_h5", "leaf62", "bordered62", "logreg_h2", "logreg_h3", "gd62"):
        assert required in names
    for rel in ("README.md", "json/sec61.json", "xppaut/sec61.ode", "xppaut/gd62.ode"):
        assert os.path.isfile(os.path.join(ROOT, rel)), rel
    readme = open(os.path.join(ROOT, "README.md")).read()
    assert "xppaut NAME.ode -silent" in readme and "dlnsys models regenerate" in readme


@pytest.mark.parametrize("spec", [s for s, _ in catalog_specs()], ids=lambda s: s.name)
def test_committed_json_loads_to_the_same_spec(spec):
    assert load_spec(os.path.join(ROOT, "json", f"{spec.name}.json")) == spec


def test_cli_check(capsys):
    from dlnsys.cli import main
    assert main(["models", "regenerate", "--check", "--dir", ROOT]) == 0
    assert "up to date" in capsys.readouterr().out
