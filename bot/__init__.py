"""Signpost bot: confidential signposting for UK sex workers, run by a sexual-health charity."""
