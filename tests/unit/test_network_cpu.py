"""The network-load report's CPU line: busy share and who used the time."""

from __future__ import annotations

from bench.network import cpu


def test_the_busy_share_and_the_others_come_from_two_marks() -> None:
    start = cpu.CpuMark(busy_s=100.0, idle_s=50.0, children_s=10.0)
    end = cpu.CpuMark(busy_s=290.0, idle_s=60.0, children_s=160.0)
    use = cpu.between(start, end)
    assert use is not None
    assert round(use.busy_share, 2) == 0.95
    assert use.children_s == 150.0
    assert use.others_s == 40.0
    assert "95% busy (saturated" in use.line()


def test_a_quiet_machine_is_not_called_saturated_and_no_proc_gives_no_line() -> None:
    use = cpu.between(cpu.CpuMark(0.0, 0.0, 0.0), cpu.CpuMark(10.0, 90.0, 4.0))
    assert use is not None
    assert "10% busy (not saturated)" in use.line()
    assert cpu.between(None, cpu.CpuMark(1.0, 1.0, 1.0)) is None


def test_a_mark_reads_this_machine() -> None:
    now = cpu.mark()
    assert now is None or (now.busy_s > 0 and now.idle_s >= 0 and now.children_s >= 0)
