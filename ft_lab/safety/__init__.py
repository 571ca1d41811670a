"""Checks on input before any work: YAML limits, code references in recipes, secrets, file integrity,
local model folders and output paths that must never overwrite the user's files."""
