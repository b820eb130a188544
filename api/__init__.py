"""The `/api/*` routes that `server.py` mounts beside the Streamlit UI."""
