"""Training made short: ``fit``, ``evaluate``, ``predict``, metrics and callbacks (``gn.train``).

    history = gn.train.fit(model, (X, y), "cross_entropy", opt, epochs=10,
                           val_data=(X_val, y_val), callbacks=[gn.train.EarlyStopping(patience=2)])
"""

from .batches import predict  # noqa: F401
from .callbacks import (  # noqa: F401
    Callback,
    EarlyStopping,
    LRSchedulerCallback,
    ModelCheckpoint,
    ResumeFromCheckpoint,
    TerminateOnNaN,
)
from .history import History  # noqa: F401
from .loop import CallbackList, TrainState, evaluate, fit, get_loss, train_step  # noqa: F401
from .metrics import accuracy, confusion_matrix, mae, mse, top_k_accuracy  # noqa: F401
from .models import SequenceClassifier  # noqa: F401
from .progress import Progress  # noqa: F401
