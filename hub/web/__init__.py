"""The hub's web app: JSON API, live updates (SSE) and the dashboard."""
