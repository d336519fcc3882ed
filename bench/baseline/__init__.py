"""The benchmark's baseline: a plain python-telegram-bot v22 bot, as PTB's own examples write one."""
