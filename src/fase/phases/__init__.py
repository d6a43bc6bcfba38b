"""The phase verbs: each reads the artefacts of the phases before it from a run
directory (:class:`fase.rundir.RunDir`), calls the library, and writes its own.

    data → train → evaluate → allocate → simulate → policy_study → report     (``run``)
    compare (the model zoo on one data set), federated (districts as clients)

Each module is thin orchestration: the numerics live in the packages below
(``data``, ``graph``, ``forecasters``, ``evaluation``, ``allocation``, ``simulation``,
``report``). The command line (:mod:`fase.cli`) calls these verbs.
"""
