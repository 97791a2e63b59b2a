"""Telegram channels: the client bot (python-telegram-bot) and the staff bot (aiogram 3)."""
