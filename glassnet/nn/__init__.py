"""Layers, containers, losses and initialisation (``gn.nn``), named as ``torch.nn``."""

from . import functional, init, utils  # noqa: F401
from .activation import (  # noqa: F401
                         ELU,
                         GELU,
                         SELU,
                         Hardsigmoid,
                         Hardswish,
                         Hardtanh,
                         LeakyReLU,
                         LogSigmoid,
                         LogSoftmax,
                         Mish,
                         ReLU,
                         ReLU6,
                         Sigmoid,
                         SiLU,
                         Softmax,
                         Softmin,
                         Softplus,
                         Softsign,
                         Swish,
                         Tanh,
)
from .containers import ModuleDict, ModuleList, Sequential  # noqa: F401
from .conv import Conv1d, Conv2d, conv_output_size  # noqa: F401
from .dropout import Dropout, Dropout2d  # noqa: F401
from .linear import Flatten, Identity, Linear, Unflatten  # noqa: F401
from .loss import (  # noqa: F401
                         BCELoss,
                         BCEWithLogitsLoss,
                         CrossEntropyLoss,
                         HuberLoss,
                         L1Loss,
                         MSELoss,
                         NLLLoss,
                         SmoothL1Loss,
)
from .module import Module, Parameter  # noqa: F401
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm  # noqa: F401
from .pooling import (  # noqa: F401
                         AdaptiveAvgPool1d,
                         AdaptiveAvgPool2d,
                         AvgPool1d,
                         AvgPool2d,
                         MaxPool1d,
                         MaxPool2d,
)
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell  # noqa: F401
from .sparse import Embedding  # noqa: F401


def __getattr__(name):
    # gn.nn.SyncBatchNorm, as torch.nn.SyncBatchNorm: it lives with the MPI code in
    # glassnet.distributed and loads on first use
    if name == "SyncBatchNorm":
        from ..distributed.sync_batchnorm import SyncBatchNorm

        return SyncBatchNorm
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
