"""The REST front end (aiohttp)."""
