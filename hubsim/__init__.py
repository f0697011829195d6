"""A runnable 360Dialog hub on this machine: the IO permission page and its redirect, signed
partner webhooks, the Partner API, and fault switches. Its state lives in memory.

`python manage.py hubsim --port 8360` runs it; README.md ("The hub simulator") explains how to
point a partner at it and how to flip each fault switch.
"""
