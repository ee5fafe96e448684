"""The hub composed from its parts: ``async with open_hub(config) as hub`` (hub.app.builder)."""
