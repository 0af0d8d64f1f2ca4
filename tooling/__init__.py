"""Tools around the platform, not part of any service: the `qa` command, the local stack, the
demo audits and the retention job. Arrows run one way: tooling -> services -> shared (runtime).
"""
