"""The app of the outbox scenarios: parcels whose queued listener uses the outbox, letters whose does not."""
