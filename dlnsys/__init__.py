"""dlnsys: dynamical-systems tools for the gradient flow of deep linear neural networks.

The mathematics follows Wendin & Altafini, "Gradient Flow Equations for Deep Linear
Neural Networks: A Survey from a Network Perspective" (2025); equation numbers in the
docstrings refer to it. The public API is listed in ``__all__``; submodules ``init``,
``structure``, ``invariants``, ``reductions``, ``exact`` (all the closed forms; ``exact_trajectory``
and ``escape_times`` are also here) and ``emit`` are imported on use.
"""

# first: the `dlnsys` command's Ctrl-C while numpy and scipy load (see _startup)
from . import _startup  # noqa: F401
from .network import AssumptionWarning, BottleneckWarning, Network
from .simulate import Trajectory, simulate, simulate_gd
from .critical import (KINDS, Classification, CriticalPoint, SignatureInfo, Signatures, arc_counts,
                       classify, critical_point, critical_value, equivalent, equivalent_point,
                       fiber_dimension, negative_direction, random_critical_point, read_signature,
                       signatures, zero_direction)
from .spectra import Spectrum, hessian_operator, spectrum
from .arcs import Arc, arc
from .rates import DecayCheck, RateConstant, prop26, prop26_rate, prop27, prop28
from .leaves import LeafEquilibria, LeafEquilibrium, equilibria_on_leaf, leaf_of, project_to_leaf
from .manifolds import (Atlas, Curve, EquilibriumManifold, LeafCriticalSets, SignatureSet, absence_reason,
                        equilibrium_manifolds, manifold_at)
from .continuation import Branch, LogisticSystem, SpecialPoint, continuation
from .separatrices import (Basins, InvariantCurve, Itinerary, ItineraryPlateau, Separatrices, basins,
                           itinerary, separatrices)
from .surfaces import InvariantSurface, invariant_surface
from .exact import escape_times, exact_trajectory
# ``dlnsys.sweep`` stays the module (``dlnsys.sweep.sweep(study, out)``); its table reader and types are here
from .sweep import Study, SweepResult, load_sweep
from .emit.json import load_spec
from .emit.spec import OdeSpec

__version__ = "0.1.0"

__all__ = [
    "Network", "BottleneckWarning", "AssumptionWarning", "__version__",
    "simulate", "simulate_gd", "Trajectory",
    "signatures", "Signatures", "SignatureInfo", "critical_point", "random_critical_point",
    "CriticalPoint", "classify", "Classification", "KINDS", "critical_value", "read_signature",
    "arc_counts", "equivalent", "equivalent_point", "negative_direction", "zero_direction",
    "fiber_dimension",
    "spectrum", "Spectrum", "hessian_operator",
    "arc", "Arc",
    "prop26", "prop26_rate", "prop27", "prop28", "DecayCheck", "RateConstant",
    "equilibria_on_leaf", "LeafEquilibria", "LeafEquilibrium", "leaf_of", "project_to_leaf",
    "equilibrium_manifolds", "LeafCriticalSets", "SignatureSet", "EquilibriumManifold", "Curve", "Atlas",
    "absence_reason", "manifold_at",
    "continuation", "Branch", "SpecialPoint", "LogisticSystem",
    "separatrices", "Separatrices", "InvariantCurve", "basins", "Basins", "itinerary", "Itinerary",
    "ItineraryPlateau", "invariant_surface", "InvariantSurface",
    "exact_trajectory", "escape_times", "Study", "SweepResult", "load_sweep",
    "load_spec", "OdeSpec",
]
