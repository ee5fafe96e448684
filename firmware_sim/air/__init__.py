"""The simulated radio ("air") that buttons, wearables and hubs share."""
