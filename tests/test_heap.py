"""heap.keep_freed_memory: glibc's top pad is set once; HAIBAL_HEAP_PAD=0 turns it off."""

import subprocess
import sys

import haibal_py.numeric.heap as heap


def run(code: str, **env) -> str:
    import os
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**os.environ, **env})
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_the_pad_is_set_once_and_can_be_turned_off():
    code = "from haibal_py.numeric.heap import keep_freed_memory as k; print(k(), k())"
    first, again = run(code).split()
    assert first == again
    assert first in (str(heap.HEAP_PAD), "0")  # 0 only where the C library is not glibc
    assert run(code, HAIBAL_HEAP_PAD="0") == "0 0"
    assert run(code, HAIBAL_HEAP_PAD="1048576").split()[0] in ("1048576", "0")


def test_fit_sets_it():
    code = ("import numpy as np; from haibal_py import layers, models; import haibal_py.numeric.heap as h\n"
            "m = models.Sequential([layers.Input((2,)), layers.Dense(1)]); m.compile('sgd', 'mse')\n"
            "assert 'pad' not in h._done; m.fit(np.zeros((4, 2)), np.zeros((4, 1)), verbose=0); print('pad' in h._done)")
    assert run(code) == "True"
