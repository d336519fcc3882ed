"""Running the bot: the start-up doctor, encrypted backups and logging."""
