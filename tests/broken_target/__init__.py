"""A deliberately broken target: the reference service with chosen observability violations injected.

``python -m tests.broken_target --profile persist --port 8000 --break span-parent,log-secret`` serves the
reference profile on 127.0.0.1, configured from the same ``OBSCONF_*`` environment variables, with each
named break applied (:data:`tests.broken_target.breaks.BREAKS` lists them). ``--break none`` serves the
unbroken reference. The e2e tests use it to prove that the conformance suite catches each violation.
"""
