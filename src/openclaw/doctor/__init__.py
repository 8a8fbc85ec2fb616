"""``openclaw doctor``: find what is wrong with a HOME shared with the TypeScript OpenClaw.

``checks.run_checks`` returns findings (severity, one line, the fix); ``checks.apply_fixes``
repairs those marked fixable, after a backup, and says what it changed.
"""
