"""The `jingzhi` command: the one place that wires the engine to its edges (web, worker, ingester, ticker)."""
