"""The domain and its storage: availability, matching, bookings, escalations, outbox, timers.

Knows nothing of chats: it writes notifications addressed to people, never to channels.
"""
