"""Step CPU time counts the processes a step starts, also those that exit before it ends."""

from __future__ import annotations

import subprocess
import sys
import time

from serving.bulk.job import TreeCpu

_BURN = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.6: pass"


def test_tree_cpu_counts_a_child_that_exited() -> None:
    with TreeCpu(interval=0.05) as cpu:
        subprocess.run([sys.executable, "-c", _BURN], check=True)
    assert cpu.seconds >= 0.5


def test_tree_cpu_counts_a_live_child_and_not_time_before_the_block() -> None:
    child = subprocess.Popen([sys.executable, "-c", _BURN + "\nprint('burnt', flush=True)\n"
                              "time.sleep(30)"], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "burnt"  # its CPU is spent before the block
        with TreeCpu() as cpu:
            time.sleep(0.3)
        assert cpu.seconds < 0.3
    finally:
        child.kill()
        child.wait()
