"""Several replicas of the bot on one PostgreSQL database: an inbox every update is stored in before it is
acknowledged, leases that give each conversation to one replica at a time, and one elected poller.

inbox.py (the tables' SQL), routing.py (which conversation an update belongs to), entry.py and store.py
(a turn's write marks its update stepped, in the same commit), webhook.py (the HTTP endpoint),
workers.py (claim, process, release), leader.py (advisory-lock elections), poller.py (long polling by
the elected replica), relaylock.py (one replica at a time sends a case's relays), serve.py (wiring).
"""
