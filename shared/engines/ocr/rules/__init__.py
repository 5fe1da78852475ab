"""Field rules of the CPU engine, one module per field kind; :mod:`..fields` dispatches to them."""
