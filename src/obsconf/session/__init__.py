"""One pytest session's obsconf state: options and settings (config), the lazily started stack, targets and
probes (runtime), collection nodes (nodes) and the stash key (keys)."""
