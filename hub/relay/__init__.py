"""The partner relay: sealed envelopes over MQTT, durable outbox and inbox, receipts."""
