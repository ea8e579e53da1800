"""`crswatch bot`: the Telegram front end (sign-up and self-service in the chat), like `web/`."""
