"""The README's examples run as written (a user copies them first)."""
import re
import shlex
from pathlib import Path


README = Path(__file__).resolve().parents[1] / "README.md"


def blocks(lang):
    return re.findall(rf"```{lang}\n(.*?)```", README.read_text(), flags=re.S)


def test_python_quick_tour_runs(capsys):
    code = blocks("python")
    assert code, "README has no python example"
    for block in code:
        exec(compile(block, str(README), "exec"), {"__name__": "__readme__"})
    out = capsys.readouterr().out
    assert "{} -> {1} -> {1,2} -> {1,2,3} -> {1,2,3,4}" in out       # the itinerary the tour promises
    assert "non-strict saddle" in out


def test_every_documented_subcommand_exists():
    from dlnsys.cli import main
    words = set()
    for block in blocks("sh"):
        for line in block.splitlines():
            parts = shlex.split(line.split("#")[0])
            for i, p in enumerate(parts):
                if p == "dlnsys" and i + 1 < len(parts):
                    words.add(parts[i + 1])
    assert {"simulate", "emit", "continue"} <= words
    for w in sorted(words):
        try:
            rc = main([w, "--help"])
        except SystemExit as exc:        # argparse's --help exits; main may also return the status
            rc = exc.code
        assert rc == 0, w
