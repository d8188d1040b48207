"""The case builders: one per contract section, each turning a section into named cases (one pytest item each).

:mod:`obsconf.cases.case` holds :class:`~obsconf.cases.case.Case` and the :class:`~obsconf.cases.case.Probe` the
cases read; :data:`obsconf.cases.suite.SECTION_BUILDERS` lists the builders in the order the cases run.
"""
