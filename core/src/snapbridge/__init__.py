"""snapbridge."""
