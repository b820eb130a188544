"""Test support: real stores on free ports, the app server in a subprocess, a browser."""
