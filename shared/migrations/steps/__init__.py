"""Migration steps every service's history takes, each written once and called by a revision."""
