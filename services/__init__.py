"""The domain: stores, Airtable gateway, budget, auth and the rest. No Streamlit here."""
