"""Settings, the model price table and logging setup. The only place that reads the environment."""
