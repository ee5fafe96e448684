"""``heartline demo``: two simulated homes, a broker and the dashboard, on one machine."""
