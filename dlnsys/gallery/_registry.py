"""The list of portraits: what each one is, how it is computed and how it is drawn."""
from __future__ import annotations

import dataclasses
import importlib
import inspect
import textwrap
from typing import Callable

__all__ = ["Portrait", "Block", "SECTIONS", "MODULES", "portraits", "get"]

#: Sections of the index page, in order: key -> (heading, one-line introduction).
SECTIONS = {
    "paper": ("The paper's figures",
              "Figs. 1–7 of Wendin & Altafini, “Gradient Flow Equations for Deep Linear Neural Networks” (2025), "
              "recomputed with dlnsys."),
    "beyond": ("Beyond the paper",
               "Bifurcations, equilibrium branches, Hessian spectra, the network as a graph, basins of "
               "attraction and the manifolds of equilibria on leaves: what dlnsys computes that the paper does "
               "not show."),
}

#: Portrait modules under :mod:`dlnsys.gallery.portraits`, in index order.
MODULES = [
    "fig1_logistic",
    "fig2_3_section61",
    "fig4_arcs",
    "fig5_single_node",
    "fig6_chain3",
    "fig7_two_nodes",
    "bifurcations",
    "hessian_spectra",
    "network_graph",
    "basins",
    "manifolds_221",
    "section61_leaf_table",
    "separatrix_surface_311",
    "sweep_plateau_exits",
]


@dataclasses.dataclass
class Block:
    """One figure on a portrait page: a HoloViews object, the backend that renders it, and an
    optional sub-caption (HTML) shown under it."""

    obj: object
    backend: str = "bokeh"
    caption: str = ""


@dataclasses.dataclass(frozen=True)
class Portrait:
    """One gallery page.

    ``compute()`` does the numerics with dlnsys's public API and returns plain data (a dict);
    ``draw(data)`` turns it into a list of :class:`Block` with :mod:`dlnsys.viz` and HoloViews.
    The page shows the source of both functions, so a reader can rerun exactly what produced the
    figure. ``cost`` is a rough relative build time (the builder starts expensive pages first);
    ``thumbnail_block``/``thumbnail_panel`` pick the figure the index thumbnail is drawn from (block, and
    item of a Layout in it). ``models`` returns the specs of the page's system(s) for the downloads. ``plotly`` says that the page has plotly (3D) blocks (the builder renders those last: once a
    process has rendered a plotly figure, Panel bundles plotly.js into every later page it saves).
    """

    slug: str
    section: str
    title: str
    description: str
    paper: str
    caption: str
    compute: Callable[[], dict]
    draw: Callable[[dict], list]
    cost: float = 1.0
    thumbnail_block: int = 0
    thumbnail_panel: int = 0
    plotly: bool = False
    #: ``models()`` -> list of :class:`~dlnsys.emit.spec.OdeSpec`: the system(s) on the page, offered as
    #: model files (PyDSTool, XPPAUT, JSON, JavaScript; AUTO-07p for continuation problems).
    models: Callable[[], list] | None = None
    #: ``files()`` -> ``{file name: text}``: other downloads of the page (e.g. the study file of a sweep).
    files: Callable[[], dict] | None = None

    def __post_init__(self):
        if self.section not in SECTIONS:
            raise ValueError(f"section: expected one of {sorted(SECTIONS)}, got {self.section!r}")

    @property
    def filename(self) -> str:
        return f"{self.slug}.html"

    @property
    def module(self) -> str:
        return self.compute.__module__

    def source(self, which="compute") -> str:
        """The source code of ``compute`` or ``draw`` (dedented), as shown on the page, preceded by the
        module-level constants (``NAME = value``) and helper functions of its module that it uses, so
        that the recipe is complete."""
        fn = self.compute if which == "compute" else self.draw
        glb = fn.__globals__
        imports, consts, helpers = [], [], []
        seen, todo = set(), [fn]
        while todo:                          # the function, then the helpers it uses, recursively
            f = todo.pop(0)
            for name in dict.fromkeys(_names(f.__code__)):
                if name in seen:
                    continue
                seen.add(name)
                value = glb.get(name)
                if name.isupper() and isinstance(value, (int, float, str, tuple, list, dict)):
                    consts.append(f"{name} = {value!r}")
                elif inspect.isfunction(value) and value.__module__ == fn.__module__ and value is not fn:
                    helpers.append(textwrap.dedent(inspect.getsource(value)))     # a helper of the same module
                    todo.append(value)
                elif name in glb and (inspect.isclass(value) or inspect.isfunction(value)):
                    # imported at module level (e.g. Block): the recipe must import it to run as copied
                    imports.append(f"from {_public_module(value, name)} import {name}")
        parts = ["\n".join(imports + consts)] if imports or consts else []
        parts += helpers + [textwrap.dedent(inspect.getsource(fn))]
        return "\n\n".join(p.rstrip("\n") + "\n" for p in parts)

    def module_source(self) -> str:
        return inspect.getsource(importlib.import_module(self.module))


def _public_module(value, name):
    """The shortest public module that exports ``value`` as ``name`` (``dlnsys.gallery`` for Block)."""
    parts = value.__module__.split(".")
    for k in range(1, len(parts) + 1):
        mod = ".".join(parts[:k])
        if any(p.startswith("_") for p in parts[1:k]):
            continue
        try:
            if getattr(importlib.import_module(mod), name, None) is value:
                return mod
        except ImportError:
            continue
    return value.__module__


def _names(code):
    """Global names a function (and the functions and comprehensions nested in it) refers to."""
    out = list(code.co_names)
    for c in code.co_consts:
        if inspect.iscode(c):
            out += _names(c)
    return out


def portraits(only=None) -> list:
    """Every portrait, in index order (``only``: an iterable of slugs to keep; unknown ones are an error)."""
    out = []
    for name in MODULES:
        mod = importlib.import_module(f".portraits.{name}", __package__)
        out.extend(mod.PORTRAITS)
    slugs = [p.slug for p in out]
    dup = {s for s in slugs if slugs.count(s) > 1}
    if dup:
        raise RuntimeError(f"duplicate portrait slugs: {sorted(dup)}")
    if only is not None:
        only = list(only)
        unknown = [s for s in only if s not in slugs]
        if unknown:
            raise ValueError(f"--only: unknown portrait(s) {', '.join(unknown)}; known: {', '.join(slugs)}")
        out = [p for p in out if p.slug in only]
    return out


def get(slug) -> Portrait:
    for p in portraits():
        if p.slug == slug:
            return p
    raise ValueError(f"slug: no portrait {slug!r}")
