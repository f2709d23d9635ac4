"""``gn.utils``: PyTorch's ``torch.utils`` names (``gn.utils.data``)."""

from . import data  # noqa: F401
