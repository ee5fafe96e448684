"""``heartline sim radio``: a simulated radio that real hubs join, with buttons made on request."""
