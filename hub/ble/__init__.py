"""The hub's Bluetooth side: transports, advert ingest, and feedback to buttons."""
