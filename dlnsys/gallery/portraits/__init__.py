"""One module per portrait (or per family of portraits); each defines ``PORTRAITS``.

``compute()`` functions import what they use from dlnsys inside their body, so the source shown
on each page is a complete recipe (and importing a module never imports plotting libraries).
"""

import sys as _sys
import types as _types


class _CallablePackage(_types.ModuleType):
    """Importing this subpackage sets ``dlnsys.gallery.portraits`` to it, shadowing the function
    :func:`dlnsys.gallery.portraits` (same name): calling the package calls that function, so
    ``dlnsys.gallery.portraits()`` works before and after any portrait module is imported."""

    def __call__(self, only=None):
        from .._registry import portraits

        return portraits(only)


_sys.modules[__name__].__class__ = _CallablePackage
