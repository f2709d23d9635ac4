"""``gn.backends.cuda``: CUDA matmul flags, accepted and without effect on the CPU."""

from types import SimpleNamespace

matmul = SimpleNamespace(allow_tf32=False, allow_fp16_reduced_precision_reduction=True)


def is_built() -> bool:
    return False
