"""FASE: auditing predictive policing.

Forecast crime counts on a graph of city areas, allocate patrols under fairness
constraints, and simulate the feedback loop in which patrols change what gets
recorded. See the README for the two set-up commands and ``fase --help``.
"""

__version__ = "0.1.0"
