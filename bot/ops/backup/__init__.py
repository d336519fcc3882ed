"""Encrypted backups: the database and its secret together, since neither is any use without the other.

sealed: the file format (header, scrypt, AES-GCM); database: a consistent copy and a checked restore;
command: `python -m bot backup` and `restore`.
"""

from bot.ops.backup.command import add_parsers, cmd_backup, cmd_restore
from bot.ops.backup.sealed import BackupError

__all__ = ["BackupError", "add_parsers", "cmd_backup", "cmd_restore"]
