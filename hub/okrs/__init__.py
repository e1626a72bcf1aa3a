"""OKRs in the store: import and export files, load the alignment tree, record check-ins.

Modules, one job each: `document` (the file's shape), `source` (read YAML, positions),
`csv_format`, `plan` (validate against the domain and the store, with `problems` collecting
errors and `history` the file's check-ins), `importing` (write a plan), `export`, `repository`
(load the tree in bulk), `checkins` (the check-in service), `view` (what `okrhub okrs show`
prints), `people` (owners by employee id, email or department), `rows` and `records`.
README.md describes the file formats and the commands.

The domain rules are okr_core's; this package stores, loads and reports. Only the most used
names are exported here; import everything else from its module.

Example:
    ```python
    result = import_okrs(engine, read_okr_file(Path("config/okrs/acme.yaml")))
    tree = load_tree(engine, cycle="2026-Q4")
    stored = record_check_in(engine, "q4-arr", 700_000, author=PersonAuthor(person_id="1002"))
    ```
"""

from __future__ import annotations

from hub.okrs.checkins import record_check_in
from hub.okrs.importing import ImportResult, import_okrs
from hub.okrs.records import AdminAuthor, CheckInRecord, StoredCheckIn
from hub.okrs.repository import load_tree
from hub.okrs.source import read_okr_file

__all__ = [
    "AdminAuthor",
    "CheckInRecord",
    "ImportResult",
    "StoredCheckIn",
    "import_okrs",
    "load_tree",
    "read_okr_file",
    "record_check_in",
]
