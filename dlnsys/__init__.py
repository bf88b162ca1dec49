"""dlnsys: dynamical-systems tools for the gradient flow of deep linear neural networks.

The mathematics follows Wendin & Altafini, "Gradient Flow Equations for Deep Linear
Neural Networks: A Survey from a Network Perspective" (2025); equation numbers in the
docstrings refer to it.
"""
from .network import AssumptionWarning, BottleneckWarning, Network

__version__ = "0.1.0"

__all__ = ["Network", "BottleneckWarning", "AssumptionWarning", "__version__"]
