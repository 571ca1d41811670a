"""Model resolution: hub ids, local folders, and the built-in ``tiny`` default."""
