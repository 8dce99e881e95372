"""Raw files -> Arrow tables in the canonical schema, one module per format."""
