"""Saved prompts: templates with typed variables, versions, sharing and stored runs."""
