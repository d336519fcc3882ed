"""The Telegram transport: python-telegram-bot v22 application, handlers and rendering."""
