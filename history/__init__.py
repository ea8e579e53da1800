"""The read side: statistics, what-if, pool, forecasts and charts over the stored draws.

It reads draw records (`scraper`) and imports no later stage, the shell or the web."""
