"""The shared kernel: who is signed in (DTOs), permission checks, audit writing."""
