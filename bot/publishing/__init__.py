"""Staff change the flows without a terminal: a draft beside the flows, its check and summary, and versions."""
