"""Noom's browser client: jinja2 pages and plain JavaScript modules."""
