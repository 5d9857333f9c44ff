"""Strapontin: seat and study-room reservation for libraries."""
