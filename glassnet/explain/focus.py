"""The focus of an explanation: which element of a large tensor is worked in full.

``gn.explain(focus=...)`` names it by the axes a course speaks of, counted from 1 as the
subscripts are printed:

- ``focus=3`` or ``{"sample": 3}``: the third sample of the batch;
- ``focus=(3, 7)`` or ``{"sample": 3, "unit": 7}``: unit (feature, class, channel) 7 of it;
- ``{"pixel": (5, 9)}``: row 5, column 9 of a feature map (with ``sample`` and ``unit``);
- ``{"unit": 2, "input": 3}``: of a weight matrix, row 2 (the unit it feeds) and column 3 (the
  input it reads): W_23;
- ``{"step": 3}``: time step 3 of a sequence (h_3 of a recurrent layer).

Which axis of a tensor is which follows from its shape: a batch of vectors is (sample, unit),
a batch of feature maps (sample, channel, row, column), a sequence batch (sample, step, unit);
a parameter's first axis is its unit (row j of W^[l] feeds unit j). Each tensor uses the
coordinates that lie inside it and its own representative element for the others (a layer
narrower than ``unit`` works its first unit). A coordinate that lies inside no tensor the
explanation worked is an error, raised when the ``with`` block ends.
"""

from __future__ import annotations

AXES = ("sample", "unit", "pixel", "input", "step")


def _positive(name, v):
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ValueError(f"explain: focus {name} must be a positive integer (counted from 1), got {v!r}")
    return v - 1


class Focus:
    """A parsed ``focus=``: 0-based ``sample``, ``unit`` and ``pixel`` (row, column), or None each."""

    def __init__(self, spec=None):
        self.sample = self.unit = self.pixel = self.input = self.step = None
        self.seen = {"sample": 0, "unit": 0, "pixel": (0, 0), "input": 0, "step": 0}  # the largest extent met of each axis
        if spec is None:
            return
        if isinstance(spec, int) and not isinstance(spec, bool):
            spec = {"sample": spec}
        elif isinstance(spec, (tuple, list)):
            if not 1 <= len(spec) <= 2:
                raise ValueError(f"explain: focus must be (sample,) or (sample, unit), got {spec!r}")
            spec = dict(zip(("sample", "unit"), spec))
        elif not isinstance(spec, dict):
            raise TypeError("explain: focus must be a sample number, (sample, unit) or a dict with "
                             f"'sample', 'unit', 'pixel', got {spec!r}")
        unknown = sorted(set(spec) - set(AXES), key=str)
        if unknown:
            raise ValueError(f"explain: focus has no axis {unknown[0]!r}; expected 'sample', 'unit' or 'pixel' "
                             "(or 'input': a weight's column, 'step': a time step)")
        if spec.get("sample") is not None:
            self.sample = _positive("sample", spec["sample"])
        if spec.get("unit") is not None:
            self.unit = _positive("unit", spec["unit"])
        for axis in ("input", "step"):
            if spec.get(axis) is not None:
                setattr(self, axis, _positive(axis, spec[axis]))
        if spec.get("pixel") is not None:
            p = spec["pixel"]
            if not isinstance(p, (tuple, list)) or len(p) != 2:
                raise ValueError(f"explain: focus pixel must be (row, column), got {p!r}")
            self.pixel = (_positive("pixel row", p[0]), _positive("pixel column", p[1]))

    def __bool__(self):
        return any(getattr(self, a) is not None for a in AXES)

    # ------------------------------------------------------------------
    def place(self, shape, base, roles):
        """``base`` (an index into ``shape``) with the focus's coordinates where they fit;
        ``roles`` maps each axis name to its axis (``pixel`` to a pair of axes)."""
        idx = list(base)
        for name, axis in roles.items():
            want = getattr(self, name)
            if name == "pixel":
                ext = (shape[axis[0]], shape[axis[1]])
                self.seen["pixel"] = tuple(max(a, b) for a, b in zip(self.seen["pixel"], ext))
                if want is not None and want[0] < ext[0] and want[1] < ext[1]:
                    idx[axis[0]], idx[axis[1]] = want
                continue
            self.seen[name] = max(self.seen[name], shape[axis])
            if want is not None and want < shape[axis]:
                idx[axis] = want
        return tuple(idx)

    def check(self):
        """Raise ValueError for a coordinate that lay inside no tensor worked."""
        seen = self.seen
        for name, where in (("sample", "the batch"), ("unit", "every layer"), ("input", "every weight matrix"),
                            ("step", "every sequence")):
            want = getattr(self, name)
            if want is None or want < seen[name]:
                continue
            if not seen[name]:
                raise ValueError(f"explain: focus {name} {want + 1}: no tensor explained has a {name} axis")
            raise ValueError(f"explain: focus {name} {want + 1} is outside {where}: "
                             f"{name} must be 1 to {seen[name]}")
        if self.pixel is not None and (self.pixel[0] >= seen["pixel"][0] or self.pixel[1] >= seen["pixel"][1]):
            r, c = seen["pixel"]
            where = f"rows must be 1 to {r} and columns 1 to {c}" if r else "no tensor explained is a feature map"
            raise ValueError(f"explain: focus pixel ({self.pixel[0] + 1}, {self.pixel[1] + 1}) is outside "
                             f"every feature map: {where}")


def roles_of(shape, param=False):
    """Which axis of a tensor of ``shape`` is the sample, the unit and the pixel."""
    n = len(shape)
    if n == 0:
        return {}
    if param:
        return {"unit": 0, "input": 1} if n >= 2 else {"unit": 0}
    if n == 1:
        return {"unit": 0}
    if n == 2:
        return {"sample": 0, "unit": 1}
    if n == 3:
        return {"sample": 0, "unit": 2, "step": 1}
    if n == 4:
        return {"sample": 0, "unit": 1, "pixel": (2, 3)}
    return {"sample": 0, "unit": 1}
