"""Tools for hospital staff: stored patient conversations, read with personal data masked, and the console."""
