"""``gn.backends.mps``: Apple's Metal backend is not available to glassnet."""


def is_available() -> bool:
    return False


def is_built() -> bool:
    return False
