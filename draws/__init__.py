"""The domain core: draw records, streams, the matching rule, the draws table, and the CRS rules."""
