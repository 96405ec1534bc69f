"""Customer 360 per-recipient signup probability (seed 003)."""
