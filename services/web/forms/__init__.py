"""Form helpers: what a page reads from a POST, checks, and sends on to an API. Pure."""
