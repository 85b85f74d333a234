"""A writer's process returns freed large buffers to the system (glibc's mmap threshold is fixed)."""

import subprocess
import sys

from tests.conftest import ROOT

FRAGMENT = """
import sys
if sys.argv[1] == "fixed":
    from habrmirror.store.memory import return_large_buffers
    assert return_large_buffers()
big = bytearray(2 << 20)
del big  # glibc raises its mmap threshold to 2 MiB on this free (unless fixed)
blocks = [bytearray(512 << 10) for _ in range(200)]  # 100 MiB of page-sized buffers
keep = blocks[-1]  # one still alive, at the top of the heap
del blocks
print(int(open("/proc/self/statm").read().split()[1]) * 4096 // 2**20)
"""


def resident_mib(mode: str) -> int:
    result = subprocess.run(
        [sys.executable, "-c", FRAGMENT, mode], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return int(result.stdout)


def test_freed_large_buffers_leave_the_process() -> None:
    plain, fixed = resident_mib("plain"), resident_mib("fixed")
    assert plain > 90, f"glibc kept the freed buffers in its heap: {plain} MiB (the case this guards)"
    assert fixed < 40, f"{fixed} MiB resident after freeing 100 MiB of buffers"
