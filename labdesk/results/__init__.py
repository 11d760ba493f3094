"""Closing the loop: the clinician board, overdue tracking, acknowledgement and export."""
