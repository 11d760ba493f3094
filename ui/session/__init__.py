"""Signing in and staying signed in: sign-in, badge, lock screen, inactivity, emergency access."""
