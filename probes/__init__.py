"""Evidence collectors that run inside the user's process.

Each probe subscribes to tap events and returns one typed section of Evidence. This package
must stay importable without torch (``sections`` is read by the parent); modules that need torch
import it themselves.
"""
