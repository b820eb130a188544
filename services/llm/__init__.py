"""Chat models for the app: `ChatModelFactory` (factory.py) returns only guarded models;
`providers.py` is the one place that constructs Gemini and Ollama clients; `scripted.py` is a
model with replies fixed in advance, for the tests and the benchmarks."""
