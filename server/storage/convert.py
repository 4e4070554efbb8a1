"""Copying between table rows and engine objects, whose attribute names are the same."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")


def to_engine(row: Any, cls: type[T], **extra: Any) -> T:
    """Build an engine object from a row; `extra` supplies what the row does not hold (e.g. lists)."""
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    values = {name: extra[name] if name in extra else getattr(row, name) for name in names}
    return cls(**values)


def write_back(obj: Any, row: Any, skip: tuple[str, ...] = ()) -> None:
    """Copy an engine object's attributes onto its row (only those the row has)."""
    for f in dataclasses.fields(obj):
        if f.name in skip or not hasattr(row, f.name):
            continue
        value = getattr(obj, f.name)
        if hasattr(value, "value") and isinstance(value.value, str):
            value = value.value
        if getattr(row, f.name) != value:
            setattr(row, f.name, value)
