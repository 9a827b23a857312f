"""Live server -> model: connections and information_schema introspection (asyncmy)."""
