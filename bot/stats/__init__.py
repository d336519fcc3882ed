"""Statistics for staff from anonymous daily counters, and the staff-group /stats command."""
