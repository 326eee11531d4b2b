"""The ticket service."""
