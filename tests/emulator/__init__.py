"""Tests of the Airtable emulator, driven through pyairtable over HTTP."""
