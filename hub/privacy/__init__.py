"""The couple's control over their own history: export it, forget part of it, keep it only so long.

``export`` writes everything the hub stores about the couple (button keys excepted, on purpose);
``forget`` deletes what was made before a date and compacts the file so it really leaves the disk;
``retention`` runs ``forget`` once a day for whatever is older than ``privacy.retention_days``.
"""
