"""Phase 1: incidents → areas → demographics → hourly (or daily) tensors.

Modules: ``incidents`` (readers), ``areas`` (polygons, spatial join),
``demographics`` (groups and static features), ``bins`` (DST-safe time bins),
``features`` (the 13 features), ``tensors`` (split, scaling, artefacts) and
``pipeline`` (orchestration of the phase).
"""
