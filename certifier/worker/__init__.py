"""The anchoring worker (a state machine kept in the database) and the supervisor that restarts it."""
