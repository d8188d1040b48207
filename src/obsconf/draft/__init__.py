"""``obsconf contract draft``: a contract drafted from what a running service actually emits.

Data flow: :mod:`.command` (options -> :class:`~.observation.DraftRequest`) -> :mod:`.observe` (the stack, the
service, the workload, the readers: the only module here that talks to the network) ->
:class:`~.observation.Observation` -> :mod:`.build` (pure: one module per section, :mod:`.logs`, :mod:`.spans`,
:mod:`.metrics`, :mod:`.health`) -> :mod:`.yamltext` (YAML with the evidence as comments).
"""

from obsconf.draft.build import Draft, draft_contract
from obsconf.draft.observation import DraftRequest, Observation

__all__ = ["Draft", "DraftRequest", "Observation", "draft_contract"]
