"""One module per portrait (or per family of portraits); each defines ``PORTRAITS``.

``compute()`` functions import what they use from dlnsys inside their body, so the source shown
on each page is a complete recipe (and importing a module never imports plotting libraries).
"""
