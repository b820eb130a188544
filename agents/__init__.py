"""The assistant: agent factory, system prompt, middleware and the turn runner."""
