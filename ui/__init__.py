"""Pieces shared by the Streamlit pages: the process's services and error display."""
