"""Deadlines: working-day calendars per jurisdiction and the deadline rules written on user tasks."""
