"""Several replicas of the bot on one PostgreSQL database: an inbox every update is stored in before it is
acknowledged, leases that give each conversation to one replica at a time, and one elected poller.

inbox.py (the tables' SQL), routing.py (which conversation an update belongs to), store.py (a turn's
write also marks its update done), webhook.py (the HTTP endpoint), workers.py (claim, process, release),
leader.py (advisory-lock elections), poller.py (long polling by the elected replica), serve.py (wiring).
"""
