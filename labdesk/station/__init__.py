"""The phlebotomy station: find the patient, orders and draw plan, collect, label, scan back."""
