"""The phase-portrait gallery: every figure of the paper and beyond, as a static offline site.

``dlnsys gallery build [--out DIR]`` (or :func:`build`) computes every portrait with dlnsys,
draws it with HoloViews (bokeh; plotly for 3D) and writes one self-contained HTML page per
portrait plus ``index.html``; ``dlnsys gallery serve`` serves the folder on localhost.

Each portrait is a :class:`Portrait` in a module of :mod:`dlnsys.gallery.portraits` (listed in
:data:`MODULES`): a ``compute()`` function that uses only dlnsys's public API and a ``draw(data)``
function that uses :mod:`dlnsys.viz`. Adding a portrait: write the module with ``PORTRAITS = [...]``
and append its name to :data:`MODULES`.

Importing this package is cheap (no plotting library is imported until a page is built).
"""
from ._registry import MODULES, SECTIONS, Block, Portrait, get, portraits
from ._site import DEFAULT_OUT, BuildReport, build, default_cache_dir, serve

__all__ = ["Portrait", "Block", "SECTIONS", "MODULES", "portraits", "get", "build", "serve", "BuildReport",
           "DEFAULT_OUT", "default_cache_dir"]
