"""Territory Planning Workbench: sales territory planning from CRM exports to a quarterly report."""

__version__ = "0.1.0"
