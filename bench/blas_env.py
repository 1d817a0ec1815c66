"""OpenBLAS settings for the PyTorch peers, applied before torch is imported.

Debian's OpenBLAS 0.3.21 misreads AVX-512 CPUs as "Prescott" and runs ~5x slow there unless
OPENBLAS_CORETYPE=SKYLAKEX; on other CPUs it detects the core correctly, and forcing SKYLAKEX
would select kernels the CPU cannot run. So the override is set only where AVX-512 exists.
"""


def cpu_has_avx512():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return "avx512f" in line.split()
    except OSError:
        pass
    return False


def apply(env):
    """Sets OPENBLAS_CORETYPE=SKYLAKEX in env (a dict) on AVX-512 CPUs unless already set."""
    if cpu_has_avx512():
        env.setdefault("OPENBLAS_CORETYPE", "SKYLAKEX")
    return env
