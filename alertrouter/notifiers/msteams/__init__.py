"""Microsoft Teams: the legacy connector (msteams_configs) and workflows (msteamsv2_configs)."""
