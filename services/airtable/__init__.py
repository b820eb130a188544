"""The Airtable gateway: the only code that imports pyairtable."""
