"""The `erp` command: start the whole stack, migrate, seed demo data, run the tests."""
