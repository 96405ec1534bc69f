"""Short-form video strategy (seed 000, Part C and §11): forward simulation, sensitivity, updating."""
