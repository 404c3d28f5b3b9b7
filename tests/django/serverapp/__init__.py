"""The app of the test server: an Observer and a listener that write to the database."""
