"""Stage 1: fetch IRCC's rounds feed with Scrapy and parse every round into a `Draw`."""

#: IRCC's official rounds feed (English); the one place that names it.
DEFAULT_SOURCE = "https://www.canada.ca/content/dam/ircc/documents/json/ee_rounds_123_en.json"
