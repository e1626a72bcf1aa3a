"""okrhub's hub: config, store, HTTP plumbing, jobs, run ledger and CLI."""
