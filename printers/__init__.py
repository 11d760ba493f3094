"""Label layout, renderers (ZPL, PDF, PNG) and printer transports. Never imports Qt."""
