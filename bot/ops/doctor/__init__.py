"""`python -m bot doctor` and the start-up check: is everything in place for the bot to serve people?

Python and its packages, the flows, the time zone, the data folder and the secret (local_checks), then
what Telegram says: the token, the staff group, the webhook (telegram_checks). One line per check, each
problem with its fix (command). Nothing here prints or logs a user's identity.
"""

from bot.ops.doctor.command import add_parser, cmd_doctor
from bot.ops.doctor.telegram_checks import staff_group_problems

__all__ = ["add_parser", "cmd_doctor", "staff_group_problems"]
