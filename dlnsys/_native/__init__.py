"""C sources of dlnsys's compiled kernels (built and loaded by :mod:`dlnsys.compiled`)."""
