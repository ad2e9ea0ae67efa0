"""kernels/memory.py: glibc keeps freed memory for reuse once a layer has run, so that large
temporaries allocated pass after pass cost no page faults; HAIBAL_KEEP_FREED_MEMORY=0 opts out."""

import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import resource, numpy as np
    from haibal_py.layers import Dense
    layer = Dense(2)
    layer.forward(np.zeros((1, 3), np.float32))          # the first forward pass tunes the allocator
    from haibal_py.numeric.kernels import memory
    def faults():
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(3):                                    # warm up: the heap grows once
        a = np.empty(3 << 20, np.float32); a.fill(1); b = np.empty(3 << 20, np.float32); b.fill(2); del a, b
    before = faults()
    for _ in range(10):                                   # 2 x 12 MiB allocated, touched and freed, 10 times
        a = np.empty(3 << 20, np.float32); a.fill(1); b = np.empty(3 << 20, np.float32); b.fill(2); del a, b
    print(memory.keep_freed_memory(), faults() - before)
""")


def _run(env_value):
    env = dict(os.environ)
    env.pop("HAIBAL_KEEP_FREED_MEMORY", None)
    if env_value is not None:
        env["HAIBAL_KEEP_FREED_MEMORY"] = env_value
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True)
    done, faults = out.stdout.split()
    return done == "True", int(faults)


def _glibc() -> bool:
    try:
        return sys.platform.startswith("linux") and "glibc" in (os.confstr("CS_GNU_LIBC_VERSION") or "")
    except (ValueError, OSError):
        return False


@pytest.mark.skipif(not _glibc(), reason="the allocator tuning is glibc's")
def test_freed_memory_is_reused_without_page_faults():
    done, faults = _run(None)
    assert done
    assert faults < 200            # 6144 pages per pass would fault if the blocks went back to the system
    done_off, faults_off = _run("0")
    assert not done_off
    assert faults_off > 5000       # the default allocator: every 4 KiB page of every new array faults
