"""Scrapy settings for crswatch's one spider.

The CLI never shells out to `scrapy crawl`; it builds these settings (with per-run overrides from
the crswatch configuration) and runs the spider in-process.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    _VERSION = version("crswatch")
except PackageNotFoundError:  # running from a source tree
    _VERSION = "dev"

BOT_NAME = "crswatch"
SPIDER_MODULES = ["crswatch.scraper.spiders"]
NEWSPIDER_MODULE = "crswatch.scraper.spiders"

USER_AGENT = f"crswatch/{_VERSION} (Express Entry draw alerts; +https://github.com/crswatch/crswatch)"
ROBOTSTXT_OBEY = False  # one public JSON document, fetched a few times an hour at most

# Nothing listens on a port: no telnet console, no remote-control server.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

# One request per cycle.  Timeouts and 5xx are retried by Scrapy's RetryMiddleware; the delay
# between attempts comes from DOWNLOAD_DELAY and AutoThrottle, which only ever grows it after
# slow or failed responses (backoff).
DOWNLOAD_TIMEOUT = 30
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
DOWNLOAD_DELAY = 2.0
DOWNLOAD_DELAY_JITTER = 0.5
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 2.0
AUTOTHROTTLE_MAX_DELAY = 60.0
CONCURRENT_REQUESTS = 1

# Conditional GET is done by the spider itself (If-None-Match / If-Modified-Since); a 304 must
# reach it.  Scrapy's HTTP cache would serve stale copies without asking, so it stays off.
HTTPCACHE_ENABLED = False
HTTPERROR_ALLOWED_CODES = [304]
COOKIES_ENABLED = False

# The feed is ~0.7 MB; anything near these sizes is not the feed.
DOWNLOAD_MAXSIZE = 16 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024

ITEM_PIPELINES = {
    "crswatch.scraper.pipelines.ParsePipeline": 100,
    "crswatch.scraper.pipelines.HarvestPipeline": 900,
}

TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
LOG_LEVEL = "WARNING"
LOG_ENABLED = True

# Start-up matters (one crawl per process under cron): load only what one GET of one URL needs.
DOWNLOAD_HANDLERS = {"s3": None, "ftp": None, "data": None}
EXTENSIONS = {
    "scrapy.extensions.memusage.MemoryUsage": None,
    "scrapy.extensions.logstats.LogStats": None,
    "scrapy.extensions.feedexport.FeedExporter": None,
}
SPIDER_MIDDLEWARES = {
    "scrapy.spidermiddlewares.depth.DepthMiddleware": None,
    "scrapy.spidermiddlewares.urllength.UrlLengthMiddleware": None,
}
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "scrapy.downloadermiddlewares.httpauth.HttpAuthMiddleware": None,
    "scrapy.downloadermiddlewares.defaultheaders.DefaultHeadersMiddleware": None,
    "scrapy.downloadermiddlewares.cookies.CookiesMiddleware": None,
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    # Sees a 3xx before RedirectMiddleware (600) does: responses pass in descending order.
    "crswatch.scraper.middlewares.RedirectGuard": 650,
}
CRSWATCH_REDIRECT_HOSTS: list[str] = []  # hosts besides canada.ca and the source's own a redirect may reach
