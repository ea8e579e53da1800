"""Stage 1: fetch IRCC's rounds feed with Scrapy and parse every round into a `Draw`."""
