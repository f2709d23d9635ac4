"""``gn.device``: where a tensor lives — always the CPU in glassnet.

PyTorch programs name devices everywhere (``torch.device("cpu")``,
``x.to(device)``, ``zeros(3, device=device)``, ``Linear(2, 3, device=...)``).
glassnet accepts every such spelling of the CPU — ``"cpu"``, ``"cpu:0"``,
``gn.device("cpu")`` — and refuses every other device (``"cuda"``, ``"mps"``,
...) with one error that names it. ``parse_to`` reads the arguments of
``Tensor.to`` and ``Module.to`` the way PyTorch does.
"""

from __future__ import annotations

import numbers

from .backend import is_dtype_name

# PyTorch's device types; all but 'cpu' are refused (known, but not available here)
_OTHER_TYPES = ("cuda", "mps", "xpu", "meta", "hip", "xla", "ipu", "mkldnn", "opengl", "opencl",
                "ideep", "ve", "fpga", "maia", "lazy", "vulkan", "hpu", "mtia", "privateuseone")


def _unavailable(name, where: str) -> ValueError:
    return ValueError(f"{where}: device {name!r} is not available — glassnet runs on the CPU "
                      "only (use 'cpu')")


class device:
    """A device: ``gn.device("cpu")``, ``gn.device("cpu", 0)`` or ``gn.device("cpu:0")``.

    ``type`` is ``'cpu'`` and ``index`` None or 0; ``str`` gives ``'cpu'``
    (``'cpu:0'``) and a device equals the same device or its string. Any other
    device type (``'cuda'``, ``'mps'``, ...) raises a ``ValueError``: glassnet
    runs on the CPU.

    Example:
        >>> dev = gn.device("cuda" if gn.cuda.is_available() else "cpu")
        >>> dev, str(dev), gn.zeros(2, device=dev).device == dev
        (device(type='cpu'), 'cpu', True)
    """

    __slots__ = ("_index", "_type")

    def __init__(self, type, index: int | None = None):
        if isinstance(type, device):
            if index is not None:
                raise ValueError(f"gn.device: index given twice ({type!r} and index={index!r})")
            self._type, self._index = type.type, type.index
            return
        if isinstance(type, numbers.Integral) and not isinstance(type, bool):
            raise _unavailable(f"cuda:{int(type)}", "gn.device")  # a bare ordinal means a GPU in PyTorch
        if not isinstance(type, str):
            raise TypeError(f"gn.device: expected a device string such as 'cpu', got "
                            f"{type.__class__.__name__} {type!r:.40}")
        kind, sep, number = type.partition(":")
        if kind != "cpu":
            if kind in _OTHER_TYPES:
                raise _unavailable(type, "gn.device")
            raise ValueError(f"gn.device: {type!r} is not a device (expected 'cpu' or 'cpu:0'; "
                             "glassnet runs on the CPU)")
        if sep:
            if index is not None:
                raise ValueError(f"gn.device: index given twice ({type!r} and index={index!r})")
            if not number.isdigit():
                raise ValueError(f"gn.device: {type!r} is not a device (expected 'cpu' or 'cpu:0')")
            index = int(number)
        if index is not None:
            if isinstance(index, bool) or not isinstance(index, numbers.Integral) or index < 0:
                raise ValueError(f"gn.device: index must be a non-negative integer, got {index!r}")
            index = int(index)
        self._type, self._index = kind, index

    @property
    def type(self) -> str:
        return self._type

    @property
    def index(self) -> int | None:
        return self._index

    def __str__(self):
        return self._type if self._index is None else f"{self._type}:{self._index}"

    def __repr__(self):
        if self._index is None:
            return f"device(type={self._type!r})"
        return f"device(type={self._type!r}, index={self._index})"

    def __eq__(self, other):
        if isinstance(other, str):
            try:
                other = device(other)
            except (TypeError, ValueError):
                return False
        if not isinstance(other, device):
            return NotImplemented
        return (self._type, self._index) == (other._type, other._index)

    def __hash__(self):
        return hash(str(self))

    def __reduce__(self):
        return (device, (self._type, self._index))


CPU = device("cpu")


def check_device(value, where: str) -> None:
    """Accept ``None`` or any spelling of the CPU; raise the one clear error otherwise."""
    if value is None or value is CPU:
        return
    if isinstance(value, str) and value == "cpu":
        return
    try:
        device(value)
    except ValueError as err:
        message = str(err)
        if message.startswith("gn.device: "):
            message = f"{where}: " + message[len("gn.device: "):]
        raise ValueError(message) from None
    except TypeError:
        raise TypeError(f"{where}: device must be 'cpu' or gn.device('cpu'), got "
                        f"{type(value).__name__} {value!r:.40}") from None


def is_device(value) -> bool:
    """Whether a positional argument of ``to()`` names a device rather than a dtype."""
    if isinstance(value, device):
        return True
    return isinstance(value, str) and not is_dtype_name(value)


def parse_to(args, kwargs, where: str):
    """``(dtype, copy)`` from the arguments of ``to``, as PyTorch reads them:
    ``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other_tensor)``, and the
    keywords ``device``, ``dtype``, ``non_blocking``, ``copy``, ``memory_format``.

    Every device is checked to be the CPU; the dtype is returned unconverted (or None)."""
    kwargs = dict(kwargs)
    dtype = kwargs.pop("dtype", None)
    check_device(kwargs.pop("device", None), where)
    copy = bool(kwargs.pop("copy", False))
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"{where}: unexpected keyword argument {next(iter(kwargs))!r} (expected "
                        "device, dtype, non_blocking, copy or memory_format)")
    args = list(args)
    # PyTorch's positional forms: (device, dtype, non_blocking, copy), (dtype, non_blocking,
    # copy) or (tensor, non_blocking, copy)
    if args and (args[0] is None or is_device(args[0])):
        check_device(args.pop(0), where)
    if args and not isinstance(args[0], bool):
        first = args.pop(0)
        if not isinstance(first, type) and hasattr(first, "dtype") and hasattr(first, "shape"):
            first = first.dtype  # to(other): other's dtype
        if dtype is not None and first is not None:
            raise TypeError(f"{where}: dtype given twice ({first!r} and dtype={dtype!r})")
        dtype = first if first is not None else dtype
    if args:  # non_blocking, then copy
        args.pop(0)
    if args:
        copy = bool(args.pop(0))
    if args:
        raise TypeError(f"{where}: too many positional arguments")
    return dtype, copy
