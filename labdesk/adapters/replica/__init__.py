"""Storage side of the station replica (issue 12 item 1): the server's change log."""
