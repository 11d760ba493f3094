"""Who may do what: sign-in, users, workstations, emergency access, privacy, the audit log."""
