"""What the benches share: seed data, baselines and fact scoring (not benches themselves)."""
