"""Stage 3: match new draws against subscribers, queue deliveries, send them through apprise."""
