"""``gn.utils.data``: ``torch.utils.data``'s names, the same objects as ``gn.data``'s.

    from glassnet.utils.data import DataLoader, TensorDataset, random_split
    loader = DataLoader(TensorDataset(X, y), batch_size=64, shuffle=True, num_workers=2)

``num_workers`` is accepted; batches are loaded in the main process.
"""

from ..data.dataloader import DataLoader, default_collate  # noqa: F401
from ..data.dataset import (  # noqa: F401
    ConcatDataset,
    Dataset,
    IterableDataset,
    Subset,
    TensorDataset,
    random_split,
)
from ..data.samplers import (  # noqa: F401
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)
from ..distributed.sampler import DistributedSampler  # noqa: F401


def get_worker_info():
    """None: batches are loaded in the main process (there are no worker processes)."""
    return
