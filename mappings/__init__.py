"""The YAML mapping language that binds metric queries to key results."""
