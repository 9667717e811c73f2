"""Progress without a terminal (CI logs, `scripts/example > log`): a line per finished pair, and
a line at least every heartbeat on a pair that takes long, so a slow local model shows it moves."""

from __future__ import annotations

import io
from types import SimpleNamespace

from harness.runner._progress import Progress


def _items(n: int) -> list:
    task, cand = SimpleNamespace(name="t"), SimpleNamespace(name="m")
    return [SimpleNamespace(task=task, cand=cand) for _ in range(n)]


def _row(error: str | None = None):
    return SimpleNamespace(task="t", model="m", error=error)


def test_a_slow_pair_prints_how_far_it_is_at_each_heartbeat():
    out = io.StringIO()
    progress = Progress(stream=out, heartbeat_s=0.0)
    progress.start(_items(3))
    progress.advance(_row())
    progress.advance(_row("Timeout: took too long"))
    progress.advance(_row())
    lines = out.getvalue().splitlines()
    assert lines[0] == "running 3 calls across 1 task × model pairs"
    assert lines[1].startswith("  t × m: 1/3 so far (")
    assert lines[2] == "  ! t × m: Timeout: took too long (further errors are counted)"
    assert lines[3].startswith("  t × m: 2/3 so far, 1 errors (")
    assert lines[4].startswith("  t × m: 3/3 done, 1 errors (")


def test_a_fast_pair_prints_one_line_when_done():
    out = io.StringIO()
    progress = Progress(stream=out)  # the default heartbeat (30 s) does not pass in this test
    progress.start(_items(3))
    for _ in range(3):
        progress.advance(_row())
    assert [x.split(" (")[0] for x in out.getvalue().splitlines()] == [
        "running 3 calls across 1 task × model pairs", "  t × m: 3/3 done"]


def test_a_pair_whose_calls_ran_together_reports_the_time_they_took():
    """Five 5-10 s calls answered at once: the pair took about 10 s, not 0.0 s."""
    out = io.StringIO()
    progress = Progress(stream=out)
    progress.start(_items(5))
    for latency in (5_000, 7_500, 10_000, 6_000, 9_000):
        progress.advance(SimpleNamespace(task="t", model="m", error=None, latency_ms=latency, cached=False))
    done = out.getvalue().splitlines()[-1]
    took = float(done.split("(")[1].rstrip("s)"))
    assert done.startswith("  t × m: 5/5 done (") and 10.0 <= took < 11.0


def test_a_pair_that_generates_shows_its_tokens_a_second():
    """Two calls of 2 s and 3 s that generated 40 and 60 tokens: 20 tokens a second (issue 24 item 6)."""
    out = io.StringIO()
    progress = Progress(stream=out)
    progress.start(_items(3))
    for latency, tokens in ((2_000, 40), (3_000, 60)):
        progress.advance(SimpleNamespace(task="t", model="m", error=None, latency_ms=latency, cached=False,
                                         completion_tokens=tokens))
    progress.advance(SimpleNamespace(task="t", model="m", error=None, latency_ms=0, cached=True,
                                     completion_tokens=50))  # from the cache: no time here, not counted
    assert out.getvalue().splitlines()[-1].endswith("s, 20.0 tok/s)")
    assert progress.rate(("t", "m")) == "20.0 tok/s" and progress.rate(("t", "other")) == ""
