"""Datasets, loaders, transforms and built-in data (``gn.data``), shaped like ``torch.utils.data``.

    X, y = gn.data.load_digits()                       # real handwritten digits, shipped inside
    train = gn.data.MNIST(download=True)               # standard data sets, cached and checked
    loader = gn.data.DataLoader(gn.data.TensorDataset(X, y), batch_size=64, shuffle=True)
"""

from . import transforms  # noqa: F401
from .builtin import digits_split, load_digits  # noqa: F401
from .corpora import TinyShakespeare  # noqa: F401
from .dataloader import DataLoader, default_collate  # noqa: F401
from .dataset import (  # noqa: F401
    ConcatDataset,
    Dataset,
    IterableDataset,
    Subset,
    TensorDataset,
    random_split,
)
from .download import DownloadError, data_home  # noqa: F401
from .loaders import load_csv, load_idx, load_mnist  # noqa: F401
from .samplers import (  # noqa: F401
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)
from .sequences import make_windows, noisy_series, sine_waves  # noqa: F401
from .standard import DATASETS, load_dataset  # noqa: F401
from .text import CharVocab, char_windows, load_text  # noqa: F401
from .toy import make_blobs, make_circles, make_moons, make_spirals, make_xor  # noqa: F401
from .vision import CIFAR10, MNIST, FashionMNIST  # noqa: F401
