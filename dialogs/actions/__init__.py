"""Custom actions, written with rasa-sdk. The embedded engine runs them in-process through
rasa-sdk's executor; `frontdesk actions` serves the same package to a Rasa server.

Actions stay thin: read the tracker, call one backend method, return events.
"""
