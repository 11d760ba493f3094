"""Chain of custody: courier pickup, transit, lab receipt, timelines and chain verification."""
