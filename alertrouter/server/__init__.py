"""HTTP plumbing shared by api and web: typed application keys, credentials, query
parameters, replay protection."""
