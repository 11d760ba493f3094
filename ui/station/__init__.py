"""The phlebotomy station screens (steps, models, dialogs, controller)."""
