"""Replace attributes for the duration of a run and always put the originals back."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from diagnose.child import faults


class Patches:
    """A stack of attribute replacements, undone in reverse order by ``restore``.

    The tap prefers PyTorch's own global hooks; this is for what has none (``Module.train``,
    ``Tensor.backward``, ``zero_grad``, the functional losses, ``DataLoader.__iter__``).
    """

    def __init__(self, component: str | None = None) -> None:
        self._undo: list[tuple[Any, str, Any]] = []
        self.component = component  # the instrumentation the next wrappers belong to (faults.py)

    def replace(
        self, owner: Any, name: str, make_wrapper: Any, component: str | None = None
    ) -> Any:
        """Set ``owner.name = make_wrapper(original)``; return the original. The wrapper is an
        entry point of ``component`` (default: the current one), passing the call through."""
        component = component or self.component
        original = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
        wrapper = make_wrapper(original)
        if component is not None:
            faults.tag(component, wrapper, passes_through=True)
            if faults.injected(component):
                wrapper = faults.faulty(component)
        self._undo.append((owner, name, original))
        setattr(owner, name, wrapper)
        return original

    @contextmanager
    def originals(self) -> Iterator[None]:
        """The original attributes back for the duration of the block, the wrappers after it."""
        installed = [
            (owner, name, owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name))
            for owner, name, _ in self._undo
            if owner is not sys.meta_path
        ]
        for owner, name, original in reversed(self._undo):
            if owner is not sys.meta_path:
                setattr(owner, name, original)
        try:
            yield
        finally:
            for owner, name, wrapper in installed:
                setattr(owner, name, wrapper)

    def restore(self) -> None:
        while self._undo:
            owner, name, original = self._undo.pop()
            if owner is sys.meta_path:
                sys.meta_path.remove(original)
            else:
                setattr(owner, name, original)

    def when_imported(self, module: str, patch: Callable[[ModuleType], None]) -> None:
        """Run ``patch`` on ``module`` now if it is loaded, else right after the script imports it:
        a library the tool must reach into (safetensors' file writer) is not imported on its
        behalf."""
        if module in sys.modules:
            patch(sys.modules[module])
            return
        component = self.component

        def patch_as_component(loaded: ModuleType) -> None:
            saved, self.component = self.component, component
            try:
                patch(loaded)
            finally:
                self.component = saved

        finder = _AfterImport(module, patch_as_component, component)
        sys.meta_path.insert(0, finder)
        self._undo.append((sys.meta_path, "", finder))


class _AfterImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: lets the other finders locate ``module``, then runs ``patch`` once it
    has executed."""

    def __init__(
        self, module: str, patch: Callable[[ModuleType], None], component: str | None = None
    ) -> None:
        self.module, self.patch, self.component = module, patch, component

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != self.module:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        execute, patch = spec.loader.exec_module, self.patch

        def exec_module(module: ModuleType) -> None:
            execute(module)
            patch(module)

        if self.component is not None:  # the import is the script's; patching it is ours
            faults.tag(self.component, exec_module, passes_through=True)
        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec
