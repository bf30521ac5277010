"""qlik-task-reconciler: Qlik Cloud scheduling tasks kept as YAML in git, reconciled with a tenant."""

__version__ = "0.1.0"
