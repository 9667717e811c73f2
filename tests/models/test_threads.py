"""llama.cpp's thread count: the CPUs this process may use, and the governor that drops to one
thread when another process takes a core (issue 24 item 4)."""

from pathlib import Path

import pytest

from harness.models._threads import PROBE_EVERY, ThreadGovernor, default_threads, others_busy, usable_cpus


def _cgroup(root: Path, v2: str | None = None, v1: tuple[str, str] | None = None) -> Path:
    root.mkdir()
    if v2 is not None:
        (root / "cpu.max").write_text(v2)
    if v1 is not None:
        (root / "cpu").mkdir()
        (root / "cpu" / "cpu.cfs_quota_us").write_text(v1[0])
        (root / "cpu" / "cpu.cfs_period_us").write_text(v1[1])
    return root


def test_a_cgroup_quota_caps_the_cpus_and_rounds_up(tmp_path, monkeypatch):
    monkeypatch.setattr("os.sched_getaffinity", lambda _pid: set(range(64)))
    assert usable_cpus(_cgroup(tmp_path / "v2", v2="150000 100000")) == 2
    assert usable_cpus(_cgroup(tmp_path / "v2-unlimited", v2="max 100000")) == 64
    assert usable_cpus(_cgroup(tmp_path / "v1", v1=("50000", "100000"))) == 1
    assert usable_cpus(_cgroup(tmp_path / "v1-unlimited", v1=("-1", "100000"))) == 64
    assert usable_cpus(tmp_path / "none") == 64


def test_the_affinity_mask_counts_not_the_machine(tmp_path, monkeypatch):
    monkeypatch.setattr("os.sched_getaffinity", lambda _pid: {0, 3})
    assert usable_cpus(tmp_path) == 2


@pytest.mark.parametrize("cpus, others, expected", [(2, 0.1, 2), (2, 1.0, 1), (2, 3.0, 1), (8, 2.4, 6), (1, 0.0, 1)])
def test_default_threads_leave_the_cores_others_keep_busy(cpus, others, expected):
    assert default_threads(cpus, others) == expected


def _proc(root: Path, busy: int, own: int) -> None:
    (root / "self").mkdir(parents=True, exist_ok=True)
    # cpu  user nice system idle iowait irq softirq steal ...
    (root / "stat").write_text(f"cpu  {busy} 0 0 5000 0 0 0 0 0 0\ncpu0 1 2 3\n")
    fields = ["S"] + ["0"] * 10 + [str(own), "0"] + ["0"] * 30  # state, then fields 4..; utime is the 14th
    (root / "self" / "stat").write_text(f"1234 (a name (with) spaces) {' '.join(fields)}\n")


def test_others_busy_is_the_machines_busy_time_less_our_own(tmp_path, monkeypatch):
    import os
    import time

    ticks = os.sysconf("SC_CLK_TCK")
    _proc(tmp_path, busy=1000, own=100)
    clock = iter([0.0, 1.0])
    monkeypatch.setattr(time, "monotonic", lambda: next(clock))
    # over one second the machine was busy 1.5 cores' worth, of which this process 0.5
    monkeypatch.setattr(time, "sleep", lambda _s: _proc(tmp_path, busy=1000 + int(1.5 * ticks),
                                                         own=100 + int(0.5 * ticks)))
    assert others_busy(1.0, proc=tmp_path) == pytest.approx(1.0, abs=0.02)


def test_others_busy_without_proc_is_zero(tmp_path):
    assert others_busy(0.0, proc=tmp_path / "missing") == 0.0


def _drive(gov: ThreadGovernor, pace: dict[int, float], calls: int) -> list[int]:
    """Feed the governor calls of 10 generated tokens whose seconds follow `pace` (per thread count)."""
    used = []
    for _ in range(calls):
        threads = gov.threads("m")
        used.append(threads)
        gov.observe("m", pace[threads] * 10, 0, 10)
    return used


def test_a_collapse_at_the_full_count_drops_to_one_thread_and_says_so():
    notes: list[str] = []
    gov = ThreadGovernor(2, notes.append)
    used = _drive(gov, {2: 4.0, 1: 0.25}, 40)  # 16x slower with both threads: a busy other core
    assert used[:3] == [2, 2, 2] and used[3] == 1  # three calls to see, one to compare
    assert used[4:].count(1) >= len(used[4:]) - 2  # then one thread, with a rare probe of two
    assert len(notes) == 1 and "16.0x slower" in notes[0] and "local_threads" in notes[0]


def test_an_idle_machine_keeps_the_full_count():
    notes: list[str] = []
    gov = ThreadGovernor(2, notes.append)
    used = _drive(gov, {2: 0.3, 1: 0.5}, 60)
    assert used.count(1) <= 1 + 60 // PROBE_EVERY and used[-1] == 2 and notes == []


def test_threads_come_back_when_the_other_process_ends():
    gov = ThreadGovernor(2)
    _drive(gov, {2: 4.0, 1: 0.25}, 10)
    assert gov.threads("m") == 1
    used = _drive(gov, {2: 0.15, 1: 0.25}, 4 * PROBE_EVERY)  # the other process ended
    assert used[-1] == 2


def test_one_cpu_is_never_changed():
    gov = ThreadGovernor(1)
    assert set(_drive(gov, {1: 1.0}, 30)) == {1}
