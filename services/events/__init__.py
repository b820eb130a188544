"""Live events: one Redis stream per user and one for the organisation (see `bus`)."""
