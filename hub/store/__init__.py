"""The store: URL and engine, tables, schema migrations, and the run ledger."""
