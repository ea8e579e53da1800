"""Stage 2: the people to alert — their CRS score, streams and channels."""
