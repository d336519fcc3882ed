"""Flow definitions: the model with its source lines, loading, checking, graph, lint and conversation tests."""
