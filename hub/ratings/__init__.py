"""Ratings and calibration in the store: import, calibrate, finalize, distributions, write-back feed.

Modules, one job each: `document` (the YAML/CSV file shape with file:line errors), `importing`,
`repository` (rows to `okr_core.ratings` values, reporting lines), `service` (calibrate,
finalize, reopen, and `finalized_ratings` for the write-back job), `views` (what the CLI shows).
Import from the modules; nothing is re-exported here.
"""

from __future__ import annotations
