"""Replace attributes for the duration of a run and always put the originals back."""

from __future__ import annotations

from typing import Any


class Patches:
    """A stack of attribute replacements, undone in reverse order by ``restore``.

    The tap prefers PyTorch's own global hooks; this is for what has none (``Module.train``,
    ``Tensor.backward``, ``zero_grad``, the functional losses, ``DataLoader.__iter__``).
    """

    def __init__(self) -> None:
        self._undo: list[tuple[Any, str, Any]] = []

    def replace(self, owner: Any, name: str, make_wrapper: Any) -> Any:
        """Set ``owner.name = make_wrapper(original)``; return the original."""
        original = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
        self._undo.append((owner, name, original))
        setattr(owner, name, make_wrapper(original))
        return original

    def restore(self) -> None:
        while self._undo:
            owner, name, original = self._undo.pop()
            setattr(owner, name, original)
