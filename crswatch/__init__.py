"""crswatch: Express Entry draw alerts.  This package wires the stages (CLI, config, database)."""
