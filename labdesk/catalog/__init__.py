"""The test catalog: the shipped compendium and a lab's own CSV."""
