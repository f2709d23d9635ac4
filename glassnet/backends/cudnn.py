"""``gn.backends.cudnn``: the cuDNN flags PyTorch programs set, accepted and without effect.

glassnet's convolutions are NumPy's on the CPU (deterministic whatever the flags say).
"""

enabled = True
benchmark = False
deterministic = False
allow_tf32 = True


def is_available() -> bool:
    return False


def version():
    return None
