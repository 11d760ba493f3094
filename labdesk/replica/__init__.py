"""The station replica (issue 12 item 1): what a station needs to keep working offline."""
